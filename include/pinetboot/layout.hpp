/// @file
/// @brief The layout module: per-client boot/root trees (identity, plan, apply, copy, image).
#pragma once
#include "pinetboot/layout/apply.hpp"
#include "pinetboot/layout/board.hpp"
#include "pinetboot/layout/chroot.hpp"
#include "pinetboot/layout/copy.hpp"
#include "pinetboot/layout/error.hpp"
#include "pinetboot/layout/generation.hpp"
#include "pinetboot/layout/identity.hpp"
#include "pinetboot/layout/image.hpp"
#include "pinetboot/layout/manifest.hpp"
#include "pinetboot/layout/mbr.hpp"
#include "pinetboot/layout/plan.hpp"
#include "pinetboot/layout/registry.hpp"
