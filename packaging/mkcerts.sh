#!/bin/sh
# mkcerts.sh - make the certificates Picket's mutual TLS needs (docs/tls.md):
# a member CA, a hub certificate for the given DNS names and IP addresses,
# one agent certificate per agent id (subject CN = the id), and a CRL.
# With -t it also makes the fixtures the TLS tests refuse: a second,
# unrelated CA with its own agent and hub certificates, an expired agent
# certificate and a revoked one (listed in the CRL).  Used by
# tests/unit/test_tls.c, the integration tests and `make run`; the full
# enrollment flow comes with the hub.  POSIX sh and the openssl command
# line only; EC P-256 keys, key files mode 0600.
#
# usage: mkcerts.sh [-t] [-d days] [-H dnsname]... [-I ipaddr]... \
#            [-a agent-id]... OUTDIR
#   defaults: -H localhost -I 127.0.0.1 -I ::1 -a agent-1, 825 days.
# Files in OUTDIR: ca.crt ca.key ca.crl hub.crt hub.key
#   agents/<id>.crt agents/<id>.key; with -t also other-ca.crt other-ca.key
#   other-agent.crt/.key (CN agent-other) other-hub.crt/.key
#   expired.crt/.key (CN agent-expired) revoked.crt/.key (CN agent-revoked).
# An existing CA in OUTDIR is reused, so agents can be added later.
set -eu

prog=mkcerts.sh
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { die "usage: $prog [-t] [-d days] [-H name]... [-I ip]... [-a id]... OUTDIR"; }

command -v openssl >/dev/null 2>&1 || die "openssl not found"

days=825
names=
ips=
agents=
testset=0
while getopts td:H:I:a: opt; do
	case $opt in
	t) testset=1 ;;
	d) days=$OPTARG ;;
	H) names="$names $OPTARG" ;;
	I) ips="$ips $OPTARG" ;;
	a) agents="$agents $OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
out=$1
case $days in ''|*[!0-9]*) die "-d wants a number of days" ;; esac
[ -n "$names$ips" ] || { names=localhost; ips="127.0.0.1 ::1"; }
[ -n "$agents" ] || agents=agent-1
for a in $agents; do
	# The id goes into a file name and a subject: keep it tame.
	case $a in
	''|*[!A-Za-z0-9._-]*) die "agent id '$a': use A-Z a-z 0-9 . _ -" ;;
	esac
	[ ${#a} -le 64 ] || die "agent id '$a' is longer than 64"
done

umask 077
mkdir -p "$out"
out=$(cd "$out" && pwd)

# One openssl config for every CA we run; CADIR picks the database (it
# must be set even for `openssl req`, which parses the whole file).
CADIR=$out/.ca-db
export CADIR
cnf=$out/.openssl.cnf
cat >"$cnf" <<'EOF'
[ ca ]
default_ca = picket_ca
[ picket_ca ]
dir = $ENV::CADIR
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/newcerts
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_agent ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1" 2>/dev/null || die "cannot make key $1"
	chmod 600 "$1"
}

# mkca NAME CN: self-signed CA NAME.crt/NAME.key and its database.
mkca() {
	db=$out/.$1-db
	if [ -f "$out/$1.crt" ] && [ -f "$out/$1.key" ] && [ -d "$db" ]; then
		return 0
	fi
	mkdir -p "$db/newcerts"
	: >"$db/index.txt"
	echo 1000 >"$db/serial"
	echo 1000 >"$db/crlnumber"
	newkey "$out/$1.key"
	openssl req -config "$cnf" -new -x509 -key "$out/$1.key" \
	    -subj "/CN=$2" -days "$days" -extensions v3_ca \
	    -out "$out/$1.crt" 2>/dev/null || die "cannot make CA $1"
}

# sign CA NAME CN EXTFILE [openssl ca date options]: NAME.crt/NAME.key.
sign() {
	ca=$1 name=$2 cn=$3 ext=$4
	shift 4
	newkey "$out/$name.key"
	openssl req -config "$cnf" -new -key "$out/$name.key" -subj "/CN=$cn" \
	    -out "$out/.csr" 2>/dev/null || die "cannot make CSR $name"
	CADIR=$out/.$ca-db openssl ca -config "$cnf" -batch -notext \
	    -cert "$out/$ca.crt" -keyfile "$out/$ca.key" \
	    -in "$out/.csr" -out "$out/$name.crt" \
	    -extfile "$ext" "$@" 2>"$out/.err" ||
	    { cat "$out/.err" >&2; die "cannot sign $name"; }
	rm -f "$out/.csr" "$out/.err"
	chmod 644 "$out/$name.crt"
}

# Hub extensions: the names and addresses agents will dial.
hubext=$out/.hub.ext
san=
for n in $names; do san="$san${san:+,}DNS:$n"; done
for i in $ips; do san="$san${san:+,}IP:$i"; done
cat >"$hubext" <<EOF
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
EOF
agentext=$out/.agent.ext
sed -n '/^\[ v3_agent \]/,$p' "$cnf" | sed 1d >"$agentext"

mkdir -p "$out/agents"
mkca ca "Picket member CA"
chmod 644 "$out/ca.crt"
hubcn=$(echo $names $ips | cut -d' ' -f1)
sign ca hub "$hubcn" "$hubext" -days "$days"
for a in $agents; do
	sign ca "agents/$a" "$a" "$agentext" -days "$days"
done

if [ $testset -eq 1 ]; then
	mkca other-ca "Unrelated CA"
	chmod 644 "$out/other-ca.crt"
	sign other-ca other-agent agent-other "$agentext" -days "$days"
	sign other-ca other-hub "$hubcn" "$hubext" -days "$days"
	sign ca expired agent-expired "$agentext" \
	    -startdate 20200101000000Z -enddate 20200201000000Z
	sign ca revoked agent-revoked "$agentext" -days "$days"
	CADIR=$out/.ca-db openssl ca -config "$cnf" -batch \
	    -cert "$out/ca.crt" -keyfile "$out/ca.key" \
	    -revoke "$out/revoked.crt" -crl_reason keyCompromise \
	    2>/dev/null || die "cannot revoke"
fi

CADIR=$out/.ca-db openssl ca -config "$cnf" -batch -gencrl -crldays 30 \
    -cert "$out/ca.crt" -keyfile "$out/ca.key" -out "$out/ca.crl" \
    2>/dev/null || die "cannot make CRL"
chmod 644 "$out/ca.crl"
printf '%s: certificates in %s\n' "$prog" "$out" >&2
