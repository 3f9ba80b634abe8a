#!/bin/bash -eu
# ClusterFuzzLite build: the OSS-Fuzz-style build script does the work.
exec "$SRC/ctxlib/fuzz/oss_fuzz_build.sh"
