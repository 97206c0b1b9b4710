// Pipeline files: the YAML that `rgflow run` executes. Its shape is fixed,
//
//   generate:            # datasets, each a name holding rgflow generate's options
//     uniform: {d: 2, L: 128, distribution: uniform}
//   train:               # models, each a name holding rgflow train's options;
//     defaults: {epochs: 4}   # "defaults" applies to every model (a model's own value wins)
//     linear: {data: uniform, activation: identity, tying: inputs, hidden: [8]}
//   analyze: {data: uniform, eval_data: [laplace]}
//
// or several analyses by name (analyze: {line: {data: ...}, square: {data: ...}}), each
// with its own results file, e.g. for models of blocks of different dimensions,
// and every leaf becomes one option of the stage with the matching prefix
// (-generate_uniform_d 2, -train_linear_activation identity, -analyze_data uniform). The file is
// parsed here with libyaml rather than PETSc's -options_file_yaml because `run` must know the
// structure (which names are datasets, which are models) and PETSc's flattened names are
// ambiguous once option names contain underscores (-generate_uniform_chunk_mb).
#pragma once

#include <string>
#include <vector>

namespace rgflow {

struct PipelineOption {
  std::string key;    // option name without prefix, e.g. "activation"
  std::string value;  // scalar text; a YAML list becomes its items joined by commas
  int line = 0;       // 1-based line in the file, for messages
};

struct PipelineEntry {
  std::string name;  // dataset or model name ("" for the analyze stage)
  std::vector<PipelineOption> options;
  int line = 0;

  /// The value of `key`, or nullptr.
  const PipelineOption* find(const std::string& key) const;
};

struct PipelineFile {
  std::string path;
  std::vector<PipelineEntry> datasets;  // generate, in file order
  std::vector<PipelineEntry> models;    // train, in file order ("defaults" not included)
  PipelineEntry train_defaults;
  // One unnamed analysis (analyze: {data: ...}), or several by name (analyze: {d1: {...}, ...}).
  std::vector<PipelineEntry> analyses;

  const PipelineEntry* dataset(const std::string& name) const;
  const PipelineEntry* model(const std::string& name) const;
};

/// The shape of a pipeline file in a few lines, for `rgflow run -help` (after its options).
constexpr const char* kPipelineFileHelp =
    "\n"
    "A pipeline file is YAML with up to three stages; every value is the option of that name:\n"
    "  generate:                 # datasets by name (rgflow generate -help)\n"
    "    uniform: {d: 2, L: 128, levels: 5, samples: 256, distribution: uniform}\n"
    "  train:                    # models by name (rgflow train -help); 'defaults' applies to all\n"
    "    defaults: {epochs: 4, batch: 256}\n"
    "    linear: {data: uniform, hidden: [8], activation: identity, tying: inputs}\n"
    "  analyze: {data: uniform, eval_data: [laplace]}   # rgflow analyze -help\n"
    "Outputs: DIR/data/<dataset>.h5, DIR/models/<model>.h5, DIR/results/results.h5 and CSVs.\n"
    "Any option can be overridden on the command line with its prefix, e.g. -train_linear_epochs "
    "2.\n";

/// The text of the pipeline file at `path`. UsageError, one line, when it does not exist, cannot
/// be read (a folder, no permission) or is larger than any real pipeline (16 MiB). Local.
std::string read_pipeline_text(const std::string& path);

/// Parses the text of a pipeline file; throws UsageError with a one-line message naming the file,
/// the line and the problem (malformed YAML, an unknown stage, a value that is not a scalar, a
/// name that cannot be part of an option name, a name used twice).
PipelineFile parse_pipeline(const std::string& path, const std::string& text);

}  // namespace rgflow
