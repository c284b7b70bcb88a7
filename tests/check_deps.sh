#!/bin/sh
# Checks the Debian packages the build and the tests need. As root it
# installs the missing ones; otherwise it prints the apt-get line to run.
missing=""
[ -f /usr/include/sqlite3.h ] || missing="$missing libsqlite3-dev"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] ||
  ls /usr/include/*/cblas.h >/dev/null 2>&1 || missing="$missing libopenblas-dev"
[ -d /usr/lib/$(cc -dumpmachine 2>/dev/null)/openblas-serial ] || missing="$missing libopenblas0-serial"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing packages:$missing"
  echo "install them with: sudo apt-get install -y$missing"
  exit 1
fi
