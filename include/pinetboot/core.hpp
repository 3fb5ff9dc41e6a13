/// @file
/// @brief The core module: byte reader/writer, result<T>, errors, address types, Pi serial, time,
/// folder naming.
#pragma once
#include "pinetboot/core/address.hpp"
#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/error.hpp"
#include "pinetboot/core/file.hpp"
#include "pinetboot/core/folder_naming.hpp"
#include "pinetboot/core/pi_serial.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/core/time.hpp"
