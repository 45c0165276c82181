# hbmon_post URL ROBOT SECRET_FILE BODY_FILE
# Sends one heartbeat document to hbmon-server's HTTP listener, signed as
# docs/http.md says, with curl and openssl; prints the server's JSON reply.
# (The same function as in docs/http.md; the tests use this copy.)
hbmon_post() {
	robot=$2
	secret=$(cat "$3")
	seq=$(date +%s%6N)       # microseconds: always increasing
	sent_at=$(date +%s%3N)   # milliseconds since the epoch
	sig=$({ printf 'POST /v1/heartbeat\n%s\n%s\n%s\n' "$robot" "$seq" "$sent_at"
	        cat "$4"; } | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
	curl -sS -X POST "$1/v1/heartbeat" \
		-H 'Content-Type: application/json' \
		-H "X-Hbmon-Robot: $robot" -H "X-Hbmon-Seq: $seq" \
		-H "X-Hbmon-Sent-At: $sent_at" -H "X-Hbmon-Signature: $sig" \
		--data-binary "@$4"
}
