/// @file
/// @brief The TFTP module: packet codec, option negotiation, sans-I/O sessions.
#pragma once
#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"
#include "pinetboot/tftp/write_session.hpp"
