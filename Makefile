# The two commands of the README.  Both bootstrap first: scripts/bootstrap.sh
# apt-gets whatever Debian package is missing (and the npm test clients).
.PHONY: all test demo build bench clean format

all: build

build:
	@bash scripts/bootstrap.sh
	@[ -f build/build.ninja ] || meson setup build
	@ninja -C build

# Builds (plain, ASan+UBSan, libFuzzer) and runs every test; ends with
# "N passed, N failed, N skipped".
test:
	@bash scripts/bootstrap.sh
	@bash scripts/test.sh

# The gateway with its built-in mock model and the chat page.
demo: build
	@bash scripts/demo.sh

bench:
	@bash scripts/bootstrap.sh --bench
	@bash bench/run.sh

# Every git-tracked C file: exactly what scripts/test.sh's style check reads.
format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-release build*.log style.log \
		checksrc.log
