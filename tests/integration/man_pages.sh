#!/usr/bin/env bash
# Every option a program's --help prints is documented in its man page, and every page renders
# without warnings (issue 16, "Man pages"). For each program: the words --help prints that look
# like options (--name, -v) are looked up in the page rendered by man(1) at a width that
# breaks no line, as whole words; `pinetboot-server status --help` is checked against the
# server's page, and the keys the server's configuration parser reads against
# pinetboot.toml(5). Then each page is rendered at 80 columns with --warnings and must print
# nothing on stderr. Runs the built programs (--help binds nothing) and the pages scdoc built
# beside them (cmake/pinetboot_man.cmake).
set -uo pipefail
B=${PINETBOOT_BUILD_DIR:?}/examples
export LC_ALL=C.UTF-8 MANROFFSEQ=''
unset MANPAGER PAGER

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The pages, each with the program (and arguments) whose --help it documents; "-" for none.
checks=(
  "server/pinetboot-server.8|server/pinetboot-server"
  "server/pinetboot-server.8|server/pinetboot-server status"
  "server/pinetboot.toml.5|-"
  "provision/pinetboot-provision.8|provision/pinetboot-provision"
  "dhcpd/pinetboot-dhcpd.8|dhcpd/pinetboot-dhcpd"
  "tftpd/pinetboot-tftpd.8|tftpd/pinetboot-tftpd"
  "simulate/pinetboot-simulate.1|simulate/pinetboot-simulate"
  "simulate/pinetboot-make-demo-tree.1|-"
  "dhcp-decode/pinetboot-dhcp-decode.1|dhcp-decode/pinetboot-dhcp-decode"
)

# options_of WORDS...: the options the --help text on stdin mentions, one per line: a word
# starting with - or -- and a letter, after a space, a bracket, a parenthesis, a comma, a bar
# or at the start of a line (so "A-B" and "mac-dash" are not options), without "=VALUE".
options_of() {
  grep -oE -- '(^|[][ (,|`])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[][ (,|`]//' | sort -u
}

for check in "${checks[@]}"; do
  page=$B/${check%%|*}
  prog=${check#*|}
  name=$(basename "$page")
  if [[ ! -f $page ]]; then
    fail "$name was not built (cmake --build ... --target pinetboot_man)"
    continue
  fi
  # Rendered without warnings at a terminal's width.
  warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  [[ -z $warnings ]] || fail "$name: man --warnings: $warnings"
  [[ $prog == - ]] && continue

  read -r -a cmd <<<"$prog"
  bin=$B/${cmd[0]}
  if [[ ! -x $bin ]]; then
    fail "$bin not built"
    continue
  fi
  help=$("$bin" "${cmd[@]:1}" --help 2>&1) || { fail "$prog --help failed: $help"; continue; }
  mapfile -t opts < <(options_of <<<"$help")
  if ((${#opts[@]} < 3)); then
    fail "$prog --help: found only ${#opts[@]} option(s) (${opts[*]}); is the help text still parsed right?"
    continue
  fi
  # One long line per paragraph: no option is broken at its hyphens.
  text=$(MANWIDTH=4000 man -E UTF-8 -l "$page" 2>/dev/null | col -bx)
  missing=()
  for o in "${opts[@]}"; do
    grep -qE -- "(^|[^A-Za-z0-9-])${o}([^A-Za-z0-9-]|\$)" <<<"$text" || missing+=("$o")
  done
  if ((${#missing[@]})); then
    fail "$name does not document what '$(basename "${cmd[0]}") ${cmd[*]:1}${cmd[1]:+ }--help' prints: ${missing[*]}"
  else
    echo "ok   $name: documents the ${#opts[@]} options of '$(basename "${cmd[0]}")${cmd[1]:+ ${cmd[*]:1}} --help'"
  fi
done

# pinetboot.toml(5) describes every key the server's parser reads (examples/server/config.cpp:
# section methods such as s.integer("max_window", ...), the boot classes set("x86_bios", ...),
# parse_mac(h, "mac") and the checked [provision] paths), each as "KEY = TYPE", or as a table
# heading ([dhcp.boot], [[dhcp.subnet]]); and every section table_or_empty() reads.
config=$(dirname "$0")/../../examples/server/config.cpp
toml=$B/server/pinetboot.toml.5
if [[ -f $config && -f $toml ]]; then
  mapfile -t keys < <({
    grep -oE '\b[a-z]\.(str|flag|integer|ip|ips|strings|has|node|get<[^>]*>)\("[a-z0-9_]+"' "$config"
    grep -oE '\bset\("[a-z0-9_]+"' "$config"
    grep -oE '\bparse_mac\([a-z]+, "[a-z0-9_]+"' "$config"
    grep -oE 'for \(char const\* key : \{[^}]*\}' "$config"
  } | grep -oE '"[a-z0-9_]+"' | tr -d '"' | sort -u)
  mapfile -t sections < <(grep -oE 'table_or_empty\(root, "[a-z0-9_]+"' "$config" | grep -oE '"[a-z0-9_]+"' | tr -d '"')
  text=$(MANWIDTH=4000 man -E UTF-8 -l "$toml" 2>/dev/null | col -bx)
  missing=()
  for k in "${keys[@]}"; do
    grep -qE -- "^ +$k = |\[\[?[a-z.]+\.$k\]\]?" <<<"$text" || missing+=("$k")
  done
  for sct in "${sections[@]}"; do
    grep -qE -- "^\[$sct\]" <<<"$text" || missing+=("[$sct]")
  done
  if ((${#keys[@]} < 50 || ${#sections[@]} < 4)); then
    fail "config.cpp: found only ${#keys[@]} keys and ${#sections[@]} sections; is it still parsed right?"
  elif ((${#missing[@]})); then
    fail "pinetboot.toml.5 does not describe what config.cpp reads: ${missing[*]}"
  else
    echo "ok   pinetboot.toml.5: describes the ${#keys[@]} keys and ${#sections[@]} sections config.cpp reads"
  fi
else
  fail "no $config or $toml"
fi

if ((failures > 0)); then
  echo "FAIL: $failures check(s) failed"
  exit 1
fi
echo "PASS: every --help option is in its man page; every page renders without warnings"
