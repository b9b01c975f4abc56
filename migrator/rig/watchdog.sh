#!/bin/sh
# The rig's watchdog, started detached by rig.ts: watchdog.sh OWNER_PID DIR ROLE=PID...
# Once the owner process is gone (a test run killed outright gets no chance to clean up) it SIGKILLs the rig's
# daemons, only those /proc still shows as ours (the expected program, our directory on the command line), and removes
# the rig's directory (only if it holds the rig's marker file). Once the daemons are gone (the rig was stopped
# normally) it just exits. A shell script, so that watching costs about 1 MB rather than a Node process.
owner=$1
dir=$2
shift 2

alive() { [ -e "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }
comm_of() {
  case $1 in
    mon) echo ceph-mon ;;
    osd) echo ceph-osd ;;
    rgw) echo radosgw ;;
  esac
}
ours() { # ROLE PID
  alive "$2" && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$(comm_of "$1")" ] &&
    tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null | grep -qF -- "$dir"
}
any_left() {
  for rp in "$@"; do ours "${rp%%=*}" "${rp#*=}" && return 0; done
  return 1
}

while any_left "$@"; do
  if ! alive "$owner"; then
    for rp in "$@"; do ours "${rp%%=*}" "${rp#*=}" && kill -9 "${rp#*=}" 2>/dev/null; done
    tries=0
    while any_left "$@" && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
    [ -f "$dir/.bucketmove-rig" ] && rm -rf -- "$dir"
    exit 0
  fi
  sleep 0.5
done
exit 0
