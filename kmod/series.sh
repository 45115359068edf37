#!/bin/bash
# series.sh - make -C kmod series: the mailable patch series
#
# Copies kmod/patches (cover letter + patches) to ${SERIES_OUT:-kmod/series-out}
# with the author placeholder replaced by the identity of whoever runs it
# (git config user.name and user.email of this checkout) in From:,
# Signed-off-by: and the cover letter's shortlog, and with the current date.
# Refuses when either setting is unset, and fails if a placeholder is left.
set -euo pipefail
KMOD=$(cd "$(dirname "$0")" && pwd)
OUT=${SERIES_OUT:-$KMOD/series-out}
PLACEHOLDER_NAME="AUTHOR PLACEHOLDER"
PLACEHOLDER_EMAIL="author@placeholder.invalid"

name=$(git -C "$KMOD" config user.name || true)
email=$(git -C "$KMOD" config user.email || true)
if [ -z "$name" ] || [ -z "$email" ]; then
	echo "series: git config user.name and user.email must be set: the series is signed off" >&2
	echo "series: in the name of whoever generates it (git config user.name \"Your Name\"; git config user.email you@example.org)" >&2
	exit 1
fi
case $email in
*@*.*) ;;
*)
	echo "series: user.email '$email' is not a mail address" >&2
	exit 1
	;;
esac
if [ "$name <$email>" = "$PLACEHOLDER_NAME <$PLACEHOLDER_EMAIL>" ]; then
	echo "series: user.name/user.email are the placeholder itself" >&2
	exit 1
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.patch
date=$(LC_ALL=C date -R)
n=0
for p in "$KMOD"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
	# sed replacement text: escape \, & and the delimiter |
	who=$(printf '%s <%s>' "$name" "$email" | sed 's/[\\&|]/\\&/g')
	nm=$(printf '%s' "$name" | sed 's/[\\&|]/\\&/g')
	sed -e "s|^From: $PLACEHOLDER_NAME <$PLACEHOLDER_EMAIL>\$|From: $who|" \
		-e "s|^Signed-off-by: $PLACEHOLDER_NAME <$PLACEHOLDER_EMAIL>\$|Signed-off-by: $who|" \
		-e "s|^$PLACEHOLDER_NAME (\\([0-9]*\\)):\$|$nm (\\1):|" \
		-e "0,/^Date: /s|^Date: .*|Date: $date|" \
		"$p" >"$OUT/$(basename "$p")"
	n=$((n + 1))
done
if grep -l -e "$PLACEHOLDER_NAME" -e "$PLACEHOLDER_EMAIL" "$OUT"/*.patch; then
	echo "series: a placeholder is left in the files above" >&2
	exit 1
fi
for p in "$OUT"/000[1-9]-*.patch; do
	grep -q "^Signed-off-by: $name <$email>\$" "$p" || {
		echo "series: $(basename "$p") has no Signed-off-by of $name <$email>" >&2
		exit 1
	}
done
echo "series: $n files in $OUT, author and Signed-off-by: $name <$email>"
ls "$OUT"/*.patch
