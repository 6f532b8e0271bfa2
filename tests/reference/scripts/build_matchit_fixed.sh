#!/bin/sh
# Build the MatchIt that produced tests/reference/data/matchit_lalonde.json (test-only tool).
#
# Debian's r-cran-matchit 4.5.1 is compiled so that nn_matchC_vec.cpp's `abs(double)` resolves
# to the integer abs(): every distance difference below 1 becomes 0. Its nearest-neighbour
# matching on a propensity score then always takes the control just below the treated unit
# and never applies a caliper (differences are truncated before the comparison). Upstream fixed
# this on 2023-05-01 (commit 4b5b2f8, "attempt to patch bugs from different OS": abs -> std::abs).
# We build MatchIt 4.5.1 (commit 9762dc6, the last with Version 4.5.1) with only that fix applied.
#
# Usage: sh tests/reference/scripts/build_matchit_fixed.sh /tmp/Rlib
#        MATCHIT_LIB=/tmp/Rlib Rscript tests/reference/scripts/matchit_lalonde.R
set -eu
LIB=${1:-/tmp/Rlib}
WORK=$(mktemp -d)
git clone --quiet https://github.com/kosukeimai/MatchIt "$WORK/repo"
mkdir -p "$WORK/MatchIt" "$LIB"
git -C "$WORK/repo" archive 9762dc6 | tar -x -C "$WORK/MatchIt"
sed -i 's/\([^:a-z_]\)abs(/\1std::abs(/g' "$WORK/MatchIt/src/nn_matchC_vec.cpp"
R CMD INSTALL --no-docs --no-multiarch -l "$LIB" "$WORK/MatchIt"
