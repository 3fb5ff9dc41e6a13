/// @file
/// @brief The TFTP module: packet codec, option negotiation, sans-I/O sessions.
#pragma once
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/source.hpp"
