/// @file
/// @brief The DHCP module: DHCPv4/BOOTP message view and builder, typed options, PXE and
/// Raspberry Pi specifics, client classification; the lease store and server engine.
#pragma once
#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/error.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/option_codes.hpp"
#include "pinetboot/dhcp/options.hpp"
#include "pinetboot/dhcp/pxe.hpp"
