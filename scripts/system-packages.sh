#!/bin/sh
# Installs the Debian packages that Genchi's tests and documents rely on, when they are missing.
# Needs root (as on CI); otherwise it only says what is missing.
PACKAGES="age chromium gettext poppler-utils fonts-morisawa-bizud-gothic fonts-morisawa-bizud-mincho fonts-ipaexfont"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Debian パッケージを導入します:$missing"
  apt-get update -qq >/dev/null 2>&1 || true
  # A failed install must not stop the suite: the tests that need a package skip without it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
    || echo "Debian パッケージを導入できませんでした (一部のテストは省略されます):$missing"
else
  echo "次の Debian パッケージがありません (一部のテストは省略されます):$missing"
fi
