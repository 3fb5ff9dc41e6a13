/// @file
/// @brief The TFTP module: packet codec, option negotiation, sans-I/O sessions, confined file
/// source and sink, per-client roots.
#pragma once
#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/file_source.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/path.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "pinetboot/tftp/roots.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"
#include "pinetboot/tftp/write_session.hpp"
