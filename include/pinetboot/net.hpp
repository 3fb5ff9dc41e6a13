/// @file
/// @brief The Asio adapters: UDP helpers, the DHCP and TFTP servers, the kernel's neighbour
/// table, privilege dropping.
#pragma once
#include "pinetboot/net/dhcp_server.hpp"
#include "pinetboot/net/neighbour_table.hpp"
#include "pinetboot/net/privileges.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/net/udp.hpp"
