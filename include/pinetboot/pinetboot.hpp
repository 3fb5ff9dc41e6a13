/// @file
/// @brief Everything of pinetboot that needs no I/O library: core, dhcp, tftp, nfs, layout.
/// The Asio adapters are in pinetboot/net.hpp (target pinetboot::net).
#pragma once
#include "pinetboot/core.hpp"
#include "pinetboot/dhcp.hpp"
#include "pinetboot/layout.hpp"
#include "pinetboot/nfs.hpp"
#include "pinetboot/tftp.hpp"
