// `pinetboot-server status [--json] [--url URL]` (status_cli.cpp).
#pragma once

namespace pinetboot::server {
/// argv[0] is "status". Returns the exit code.
int status_command(int argc, char** argv);
}  // namespace pinetboot::server
