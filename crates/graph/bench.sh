#!/bin/sh
# Runs the ThreatGraph benchmark (optimised build) and prints wall times and
# peak memory. Arguments: HOSTS CONTAINERS FINDINGS (default 10000 100000 1000000).
set -eu
cd "$(dirname "$0")/../.."
exec cargo bench -p rampart-graph --bench threatgraph -- "$@"
