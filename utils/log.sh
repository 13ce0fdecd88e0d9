# shellcheck shell=bash
# A log() function for the pipeline's shell scripts, ESPnet style. Source it:
#
# Usage:
#   . utils/log.sh
#   log "stage 1: data preparation"
#   # -> 2024-05-01T12:00:00 (run.sh:42) stage 1: data preparation   (on stderr)
#
# The file and line are those of the caller, taken from BASH_SOURCE and BASH_LINENO.

log() {
  local caller=${BASH_SOURCE[1]:-$0}
  # printf's %(...)T formats the time without forking date(1); -1 means now.
  printf '%(%Y-%m-%dT%H:%M:%S)T (%s:%s) %s\n' -1 "${caller##*/}" "${BASH_LINENO[0]}" "$*" >&2
}
