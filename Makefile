# The two commands a newcomer needs: `make run` and `make test`. See README.md.
DATA_DIR ?= .shelftalk
SHELFTALK := target/debug/shelftalk
ST := $(SHELFTALK) --data-dir $(DATA_DIR)

.PHONY: run test deps build demo-data

deps:
	scripts/install-deps.sh

build: deps
	cargo build

# Main job on the embedded defaults: keys, the project's own demo catalog and behaviour log,
# the data-quality reports and a summary.
run: build
	@[ -f $(DATA_DIR)/keys/kek.key ] || $(ST) keys init
	$(ST) import catalog demo/catalog.csv
	$(ST) import events demo/events.csv
	$(ST) status

# The whole test suite.
test: deps
	cargo test --all-targets -- --test-threads 2
