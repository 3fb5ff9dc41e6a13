/// @file
/// @brief The nfs module: /etc/exports (and its managed block), NFS-Ganesha exports, client fstab, cmdline.txt and
/// EEPROM bootloader configuration generators for NFS-root network boot.
#pragma once
#include "pinetboot/nfs/cmdline.hpp"
#include "pinetboot/nfs/eeprom.hpp"
#include "pinetboot/nfs/error.hpp"
#include "pinetboot/nfs/exports.hpp"
#include "pinetboot/nfs/exports_file.hpp"
#include "pinetboot/nfs/fstab.hpp"
#include "pinetboot/nfs/ganesha.hpp"
