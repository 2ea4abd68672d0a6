# Web views: Debian's chromium for the headless-browser tests (Playwright drives it; it never
# downloads a browser of its own).
CHROMIUM_STAMP := $(TOOLCHAIN)/chromium.stamp

$(CHROMIUM_STAMP):
	command -v chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }
	chromium --version
	mkdir -p $(TOOLCHAIN) && touch $@
