#!/bin/sh
# Checks that clang ($FUZZ_CC, default clang) can build a libFuzzer target.
# As root it installs clang and its fuzzer runtime when it cannot;
# otherwise it prints the apt-get line to run.
compiler=${FUZZ_CC:-clang}
packages="clang libclang-rt-dev"
probe=$(mktemp -d) || exit 1
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {' \
  '  (void)d; (void)n; return 0; }' > "$probe/probe.c"

builds() {
  "$compiler" -fsanitize=fuzzer,address -o "$probe/probe" "$probe/probe.c" \
    >/dev/null 2>&1
}

builds && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing: $packages"
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  builds && exit 0
  echo "$compiler still cannot build a libFuzzer target after installing" \
    "$packages"
  exit 1
fi
echo "$compiler cannot build a libFuzzer target"
echo "install it with: sudo apt-get install -y $packages"
exit 1
