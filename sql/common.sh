# common.sh: checks and quoting shared by demo.sh and notebook_split.sh.
# Source it after setting $script to the calling script's name.
# require_sqlite sets $sqlite to the sqlite3 shell to run: the SQLITE3
# environment variable, or sqlite3 from PATH.

# Prints "SCRIPT: MESSAGE" on stderr and exits with status 1.
die() {
  printf '%s: %s\n' "$script" "$*" >&2
  exit 1
}

# Checks that the sqlite3 shell exists and is 3.35 or later: the scripts
# use WITH ... AS MATERIALIZED (3.35), .mode box (3.33) and
# .import --csv (3.32).
require_sqlite() {
  sqlite=${SQLITE3:-sqlite3}
  command -v "$sqlite" >/dev/null 2>&1 ||
    die "the sqlite3 shell \"$sqlite\" was not found; install it" \
        "(apt-get install sqlite3) or set SQLITE3 to its path"
  version=$("$sqlite" -version | cut -d ' ' -f 1)
  major=$(printf '%s' "$version" | cut -d . -f 1)
  minor=$(printf '%s' "$version" | cut -d . -f 2)
  case $major$minor in
    '' | *[!0-9]*)
      die "cannot read the version of \"$sqlite\" (got \"$version\")" ;;
  esac
  if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 35 ]; }
  then
    die "\"$sqlite\" is version $version; these scripts need 3.35 or later"
  fi
}

# require_extension PATH [HOW]: checks that the extension exists. The path
# is given without its suffix, as .load takes it: build/claim stands for
# build/claim.so. HOW is the hint on passing another path.
require_extension() {
  [ -f "$1" ] || [ -f "$1.so" ] ||
    die "extension \"$1.so\" not found; build it with: make" \
        "(or make BUILD=DIR, then ${2:-pass DIR/claim})"
}

# The columns of the dataset that the scripts read.
DATASET_COLUMNS='# claim_status video_duration_sec video_transcription_text
verified_status author_ban_status video_view_count video_like_count
video_share_count video_download_count video_comment_count'

# require_csv FILE WHAT COLUMN...: checks that FILE is a readable CSV with
# at least one data row, whose header row names every COLUMN. WHAT
# describes the file in the message.
require_csv() {
  file=$1
  what=$2
  shift 2
  case $file in
    /*) where= ;;
    *) where=" (relative to $(pwd))" ;;
  esac
  [ -f "$file" ] && [ -r "$file" ] ||
    die "$what \"$file\" not found or not readable$where"
  [ -s "$file" ] || die "$what \"$file\" is empty"
  [ -n "$(sed -n '2{p;q;}' -- "$file" | tr -d '\r')" ] ||
    die "$what \"$file\" has a header row but no data rows"
  # The header without quotes, carriage returns and a UTF-8 byte order
  # mark (spreadsheets write one, and sqlite3's .import skips it), with a
  # comma at each end, so that every column name appears as ,NAME,.
  bom=$(printf '\357\273\277')
  header=$(head -n 1 -- "$file" | tr -d '"\r')
  header=,${header#"$bom"},
  for column in "$@"; do
    case $header in
      *",$column,"*) ;;
      *) die "$what \"$file\" has no column \"$column\" in its header row" ;;
    esac
  done
}

# Checks that a database path is free. The scripts import each CSV file
# into a new table, because .import into an existing table would add the
# header row as data.
require_new_database() {
  [ ! -e "$1" ] ||
    die "database \"$1\" already exists; pass a path that does not exist"
}

# Prints a path the sqlite3 shell takes literally. A relative path gets a
# leading ./ because the shell reads "|command" in .import and .read as a
# command to run, and the command line reads "-name" as an option and
# "file:name" as a URI. Dot-command arguments in double quotes take
# backslash escapes, so backslashes and double quotes are escaped.
dot_command_path() {
  case $1 in
    *'
'*) die "path contains a newline: \"$1\"" ;;
  esac
  case $1 in
    /*) path=$1 ;;
    *) path=./$1 ;;
  esac
  printf '"%s"' "$(printf '%s' "$path" | sed 's/[\\"]/\\&/g')"
}

# Prints a database path for the sqlite3 command line, with the same ./
# prefix as dot_command_path. It needs no quoting, because sh passes it as
# one argument.
command_line_path() {
  case $1 in
    /*) printf '%s' "$1" ;;
    *) printf './%s' "$1" ;;
  esac
}
