#!/bin/sh
# Checks the Debian packages the build and the tests need. As root it
# installs the missing ones; otherwise it prints the apt-get line to run.
# With the argument "bench" it also checks what `make bench` needs.
multiarch=$(cc -print-multiarch 2>/dev/null)
[ -n "$multiarch" ] || multiarch=$(cc -dumpmachine 2>/dev/null)
missing=""
[ -f /usr/include/sqlite3.h ] || missing="$missing libsqlite3-dev"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
# A CBLAS header: libopenblas-dev's or the reference one of libblas-dev.
[ -f /usr/include/$multiarch/cblas.h ] || [ -f /usr/include/cblas.h ] ||
  ls /usr/include/*/cblas.h >/dev/null 2>&1 || missing="$missing libopenblas-dev"
# OpenBLAS itself: the serial build the Makefile prefers, or else the
# default one that libopenblas-dev links.
[ -f /usr/lib/$multiarch/openblas-serial/libopenblas.so.0 ] ||
  [ -e /usr/lib/$multiarch/libopenblas.so ] || missing="$missing libopenblas0-serial"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
if [ "$1" = bench ]; then
  [ -x /usr/bin/time ] || missing="$missing time"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing packages:$missing"
  echo "install them with: sudo apt-get install -y$missing"
  exit 1
fi
