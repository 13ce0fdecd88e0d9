# shellcheck shell=bash
# Kaldi-style command-line options for a bash script. Source it (without arguments) after the
# defaults are declared; it sets the declared variables and leaves the positional arguments in "$@".
#
# Usage (in a script):
#   stage=0             # first stage to run
#   test_sets="dev eval" # sets to score
#   use_gpu=false       # true or false
#   help_message="Usage: $0 [options] <data-dir>"
#   . utils/parse_options.sh
#   [ $# -eq 1 ] || { echo "${help_message}" >&2; exit 1; }
#
# Rules:
#   --name value, --name=value   set ${name}; dashes in the name become underscores, so
#                                --stop-stage and --stop_stage both set ${stop_stage}
#   only declared options        a variable that is not set before sourcing is an unknown option:
#                                the script stops with an error naming it (a typo is not ignored)
#   booleans                     if the current value is true or false, the new one must be too
#   --help, -h                   print ${help_message} (verbatim) and exit 0
#   --, first non-option         end of the options; it and what follows stay in "$@" ("--" is
#                                dropped)
# Values may contain spaces: --test_sets "dev eval". An error exits the sourcing script with 1.

# The work is done in a function so that its variables are local; their `_po_` prefix keeps them
# from shadowing the script's variables, which printf -v assigns through bash's dynamic scoping.
_po_parse() {
  local _po_arg _po_name _po_value _po_old
  _po_nshift=0
  while [ $# -gt 0 ]; do
    _po_arg=$1
    case "${_po_arg}" in
      --help | -h)
        printf '%s\n' "${help_message:-$0: no help message; see the comments at the top of the script}"
        exit 0
        ;;
      --)
        _po_nshift=$((_po_nshift + 1))
        return 0
        ;;
      --?*=*)
        _po_name=${_po_arg%%=*}
        _po_value=${_po_arg#*=}
        shift
        _po_nshift=$((_po_nshift + 1))
        ;;
      --?*)
        _po_name=${_po_arg}
        if [ $# -lt 2 ]; then
          echo "$0: option ${_po_arg} needs a value" >&2
          exit 1
        fi
        _po_value=$2
        shift 2
        _po_nshift=$((_po_nshift + 2))
        ;;
      *)
        return 0
        ;;
    esac
    _po_name=${_po_name#--}
    _po_name=${_po_name//-/_}
    if [[ ! ${_po_name} =~ ^[A-Za-z_][A-Za-z0-9_]*$ || ${_po_name} == _po_* ]] \
      || [[ ! -v ${_po_name} ]]; then
      echo "$0: unknown option ${_po_arg%%=*} (the script declares no variable '${_po_name}'); try $0 --help" >&2
      exit 1
    fi
    _po_old=${!_po_name}
    if [[ (${_po_old} == true || ${_po_old} == false) && ${_po_value} != true && ${_po_value} != false ]]; then
      echo "$0: option ${_po_arg%%=*} expects true or false, got '${_po_value}'" >&2
      exit 1
    fi
    printf -v "${_po_name}" '%s' "${_po_value}"
  done
}

_po_nshift=0
_po_parse "$@"
shift "${_po_nshift}"
unset -v _po_nshift
unset -f _po_parse
