// libFuzzer target: the pipeline-file parser (rgflow run). Any text must end in a PipelineFile
// whose every entry and option is well formed, or in a UsageError of one line; anything else (a
// crash, a sanitizer report, another exception escaping, a message of several lines) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rgflow/core/error.hpp"
#include "rgflow/core/pipeline_file.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_pipeline_file: %s\n", what.c_str());
  std::abort();
}

void check_entry(const rgflow::PipelineEntry& entry) {
  for (const rgflow::PipelineOption& option : entry.options) {
    if (option.key.empty()) finding("an option with an empty key");
    if (option.line < 1) finding("option '" + option.key + "' without a line number");
    if (entry.find(option.key) == nullptr) finding("find() misses option '" + option.key + "'");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const rgflow::PipelineFile pipeline = rgflow::parse_pipeline("fuzz.yaml", text);
    for (const auto& dataset : pipeline.datasets) {
      if (pipeline.dataset(dataset.name) == nullptr) finding("dataset() misses " + dataset.name);
      check_entry(dataset);
    }
    for (const auto& model : pipeline.models) {
      if (pipeline.model(model.name) == nullptr) finding("model() misses " + model.name);
      check_entry(model);
    }
    check_entry(pipeline.train_defaults);
    for (const auto& analysis : pipeline.analyses) check_entry(analysis);
  } catch (const rgflow::UsageError& error) {
    if (std::strchr(error.what(), '\n') != nullptr) {
      finding(std::string("a message of several lines: ") + error.what());
    }
  }
  return 0;
}
