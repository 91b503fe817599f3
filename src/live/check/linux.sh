#!/bin/bash
# imds-migrate live check (Linux, bash). Read-only: reports whether anything on this machine
# still talks to the Managed Identity extension's token service. It prints counts, process
# names, pids, users and file paths; never file contents, environment variables or tokens.
# Inputs: Run Command's RunShellScript hands `parameters` to the script as positional arguments
# in the order sent: $1 PORT, $2 SAMPLE_SECONDS, $3 SEARCH_DIRS (':'-separated absolute
# directories). Same-named environment variables are used when an argument is missing.
# Output: one record per line, the summary last (Azure keeps only the last 4 KB of stdout).
# Time: at most 40 s of sampling, 12 s of file search, 4 s of unit search.

# The RunCommandLinux handler starts the script with `/bin/bash -c <script file>`
# (Azure/run-command-extension-linux, main/exec.go); should anything start it with another sh:
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# No `set -u`: bash before 4.4 (RHEL 7) calls an empty array unbound under it.
export LC_ALL=C

port=${1:-${PORT:-50342}}
sample=${2:-${SAMPLE_SECONDS:-30}}
dirs=${3:-${SEARCH_DIRS:-/etc:/opt:/srv:/home:/root:/usr/local:/var/www:/var/spool/cron}}

fail() { printf 'error %s\nend\n' "$1"; exit 0; }
case $port in '' | *[!0-9]*) fail bad-port ;; esac
[ ${#port} -le 5 ] || fail bad-port
port=$((10#$port))
{ [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || fail bad-port
case $sample in '' | *[!0-9]*) fail bad-sample ;; esac
[ ${#sample} -le 3 ] || fail bad-sample
sample=$((10#$sample))
[ "$sample" -le 40 ] || sample=40

MAX_FILES=20000
FILE_SECONDS=12
UNIT_SECONDS=4
SHOW=5
MAX_PROCS=10

have() { command -v "$1" >/dev/null 2>&1; }
bounded() { # seconds command...: run with a time limit where `timeout` exists
	local s=$1
	shift
	if have timeout; then timeout "$s" "$@"; else "$@"; fi
}
# A path or name as one printable line of at most 200 bytes.
safe() {
	local s=${1//[^[:print:]]/?}
	printf '%s' "${s:0:200}"
}

if have ss; then via=ss; else via=proc; fi
printf 'imds-check 1 os=linux port=%s sample=%s via=%s\n' "$port" "$sample" "$via"

hexport=$(printf '%04X' "$port")
listen=0
lpid=-
lname='?'
linode=
declare -A seen=() pname=() puser=() pcount=()

user_of() { # uid -> user name
	local n=
	have getent && n=$(getent passwd "$1" 2>/dev/null)
	n=${n%%:*}
	printf '%s' "${n:-$1}"
}

# One more connection to the port, keyed by its client end, by process `pid` (`-`: not known,
# e.g. seen from the server's side or already closed). A later sighting with an owner wins.
note() {
	local prev=${seen[$1]}
	if [ -n "$prev" ]; then
		{ [ "$prev" = - ] && [ "$2" != - ]; } || return
		pcount[-]=$((${pcount[-]} - 1))
		[ "${pcount[-]}" -le 0 ] && unset 'pcount[-]'
	fi
	seen[$1]=$2
	if [ -z "${pcount[$2]+x}" ]; then
		pcount[$2]=0
		pname[$2]=$3
		puser[$2]=$4
	fi
	pcount[$2]=$((${pcount[$2]} + 1))
}

# The token service answers only on the loopback: its own end of a connection counts when the
# client is local (an outgoing connection may use the port as its ephemeral port).
loopback() {
	case $1 in 127.* | ::1:* | \[::1\]:* | ::ffff:127.* | \[::ffff:127.*) return 0 ;; esac
	return 1
}

sample_ss() {
	local state rq sq local peer rest pid name uid
	while read -r state rq sq local peer rest; do
		[ "$state" = LISTEN ] && continue
		case $peer in
		*:"$port") ;;
		*)
			case $local in *:"$port") loopback "$peer" && note "$peer" - '?' '?' ;; esac
			continue
			;;
		esac
		[ "${seen[$local]:--}" = - ] || continue
		pid=-
		name='?'
		case $rest in *pid=*)
			pid=${rest#*pid=}
			pid=${pid%%[!0-9]*}
			name=${rest#*\(\(\"}
			name=${name%%\"*}
			;;
		esac
		if [ "$pid" != - ] && [ -z "${puser[$pid]+x}" ]; then
			# `ss -e` gives the socket's uid (left out when 0), still known when the process is gone.
			uid=
			case $rest in
			*uid:*)
				uid=${rest#*uid:}
				uid=${uid%%[!0-9]*}
				;;
			*ino:*) uid=0 ;;
			esac
			note "$local" "$pid" "$name" "$(user_of "${uid:-?}")"
		else
			note "$local" "$pid" "$name" "${puser[$pid]:-?}"
		fi
	done < <(ss -tanpe "${ssfilter[@]}" 2>/dev/null)
}

listen_ss() {
	local state rq sq local peer rest
	while read -r state rq sq local peer rest; do
		case $local in *:"$port")
			listen=1
			case $rest in *pid=*)
				lpid=${rest#*pid=}
				lpid=${lpid%%[!0-9]*}
				lname=${rest#*\(\(\"}
				lname=${lname%%\"*}
				;;
			esac
			;;
		esac
	done < <(ss -tlnp 2>/dev/null)
}

# Without ss: the kernel's socket tables, and /proc/*/fd for the owners. A live socket whose
# owner is not found yet is tried again at the next sample; the tables are read whole (bash
# reads /proc files byte by byte otherwise, which takes long enough to miss the owner).
declare -A pend=()
sample_proc() {
	local f table sl loc rem st q tr rt uid to inode rest line pid name
	local -A want=() wuid=()
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		table=$(<"$f")
		while read -r sl loc rem st q tr rt uid to inode rest; do
			if [ "$st" = 0A ]; then
				[ "${loc##*:}" = "$hexport" ] && listen=1 && linode=$inode
				continue
			fi
			if [ "${rem##*:}" != "$hexport" ]; then
				# The server's end, from a loopback client: 127/8, ::1, ::ffff:127/104.
				[ "${loc##*:}" = "$hexport" ] || continue
				case ${rem%:*} in
				??????7F | 00000000000000000000000001000000 | 0000000000000000FFFF0000??????7F)
					note "$rem" - '?' '?'
					;;
				esac
				continue
			fi
			[ "${seen[$loc]:--}" = - ] || continue
			if [ "$inode" = 0 ]; then
				# Closed; if it was seen live, its owner is settled at the end.
				[ -n "${pend[$loc]+x}" ] || note "$loc" - '?' '?'
			else
				want[$inode]=$loc
				wuid[$inode]=$uid
			fi
		done <<<"$table"
	done
	[ ${#want[@]} -eq 0 ] && return
	local inodes
	inodes=$(printf '%s|' "${!want[@]}")
	pid=
	while read -r line; do
		case $line in
		/proc/*/fd*:)
			pid=${line#/proc/}
			pid=${pid%%/*}
			;;
		*'socket:['*)
			inode=${line##*socket:\[}
			inode=${inode%\]}
			if [ -n "${want[$inode]+x}" ] && [ -n "$pid" ]; then
				name='?'
				[ -r "/proc/$pid/comm" ] && read -r name <"/proc/$pid/comm"
				[ -n "${puser[$pid]+x}" ] || puser[$pid]=$(user_of "${wuid[$inode]}")
				note "${want[$inode]}" "$pid" "$name" "${puser[$pid]}"
				unset "pend[${want[$inode]}]" "want[$inode]"
			fi
			;;
		esac
	done < <(ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -E -e '^/proc/' -e "socket:\[(${inodes%|})\]")
	for inode in "${!want[@]}"; do
		pend[${want[$inode]}]=${wuid[$inode]}
	done
}

# Short-lived connections are only attributable while open: sample often. ss filters in the
# kernel when it knows the port expressions (iproute2 has for years); else all are listed.
ssfilter=()
interval=0.5
if [ "$via" = ss ]; then
	listen_ss
	interval=0.1
	ss -tn "( dport = :$port or sport = :$port )" >/dev/null 2>&1 &&
		ssfilter=("( dport = :$port or sport = :$port )")
fi
until_s=$((SECONDS + sample))
while :; do
	if [ "$via" = ss ]; then sample_ss; else sample_proc; fi
	[ "$SECONDS" -ge "$until_s" ] && break
	sleep "$interval" 2>/dev/null || sleep 1
done
for key in "${!pend[@]}"; do
	[ -n "${seen[$key]+x}" ] || note "$key" - '?' "$(user_of "${pend[$key]}")"
done

# Without ss: the listener's owner, once.
if [ -n "$linode" ] && [ "$linode" != 0 ]; then
	while read -r line; do
		case $line in
		/proc/*/fd*:)
			pid=${line#/proc/}
			lpid=${pid%%/*}
			;;
		*'socket:['*) break ;;
		esac
	done < <(ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -E -e '^/proc/' -e "socket:\[$linode\]")
	case $line in *'socket:['*) [ -r "/proc/$lpid/comm" ] && read -r lname <"/proc/$lpid/comm" ;; *) lpid=- ;; esac
fi
printf 'listen %s %s %s\n' "$listen" "$lpid" "$(safe "$lname")"
connections=0
for id in "${!pcount[@]}"; do connections=$((connections + ${pcount[$id]})); done
processes=${#pcount[@]}
[ -n "${pcount[-]+x}" ] && processes=$((processes - 1))
for id in "${!pcount[@]}"; do
	printf '%s %s\n' "${pcount[$id]}" "$id"
done | sort -rn | head -n "$MAX_PROCS" | while read -r count id; do
	printf 'conn %s %s %s %s\n' "$count" "$id" "$(safe "${puser[$id]}")" "$(safe "${pname[$id]}")"
done

# Files that name the endpoint: the URL's host:port, the port next to an MSI-like key, or the
# extension's settings file.
pat="(localhost|127\.0\.0\.1|\[::1\]):${port}([^0-9]|\$)|(msi|managed.?identity)[a-z_.-]{0,20}[\"' :=>]{1,4}${port}([^0-9]|\$)|ManagedIdentity-Settings"
roots=()
IFS=: read -r -a dirlist <<<"$dirs"
for d in "${dirlist[@]}"; do
	case $d in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
	/*) [ -d "$d" ] && roots+=("$d") ;;
	esac
done
scanned=0
matched=0
capped=0
shown=()
batch=()
flush() {
	[ ${#batch[@]} -eq 0 ] && return
	local m
	while IFS= read -r -d '' m; do
		matched=$((matched + 1))
		[ ${#shown[@]} -lt "$SHOW" ] && shown+=("$m")
	done < <(bounded 5 grep -lIsiEZ -e "$pat" -- "${batch[@]}" 2>/dev/null)
	batch=()
}
if [ ${#roots[@]} -gt 0 ]; then
	file_until=$((SECONDS + FILE_SECONDS))
	while IFS= read -r -d '' f; do
		batch+=("$f")
		scanned=$((scanned + 1))
		[ ${#batch[@]} -ge 200 ] && flush
		if [ "$scanned" -ge "$MAX_FILES" ] || [ "$SECONDS" -ge "$file_until" ]; then
			capped=1
			break
		fi
	done < <(bounded "$FILE_SECONDS" find -H "${roots[@]}" \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /var/lib/waagent -o -path /var/log/azure \) -prune -o -type f -size -1025k -print0 2>/dev/null)
	flush
	[ "$SECONDS" -ge "$file_until" ] && capped=1
fi
for f in "${shown[@]}"; do printf 'file %s\n' "$(safe "$f")"; done
printf 'scan files=%s matched=%s capped=%s\n' "$scanned" "$matched" "$capped"

# systemd units and cron entries that name the endpoint.
upaths=()
for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system /run/systemd/system \
	/etc/crontab /etc/cron.d /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly \
	/var/spool/cron; do
	[ -e "$d" ] && upaths+=("$d")
done
units=0
ushown=()
if [ ${#upaths[@]} -gt 0 ]; then
	while IFS= read -r -d '' u; do
		units=$((units + 1))
		[ ${#ushown[@]} -lt "$SHOW" ] && ushown+=("$u")
	done < <(bounded "$UNIT_SECONDS" grep -rlIsiEZ -e "$pat" -- "${upaths[@]}" 2>/dev/null)
fi
for u in "${ushown[@]}"; do printf 'unit %s\n' "$(safe "$u")"; done

printf 'summary listen=%s connections=%s processes=%s files=%s units=%s\n' \
	"$listen" "$connections" "$processes" "$matched" "$units"
printf 'end\n'
