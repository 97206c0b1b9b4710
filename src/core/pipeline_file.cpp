#include "rgflow/core/pipeline_file.hpp"

#include <sys/stat.h>
#include <yaml.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "rgflow/core/error.hpp"

namespace rgflow {
namespace {

// Owns the parser and the loaded document, so every exit path frees both.
class YamlDocument {
 public:
  YamlDocument(const std::string& path, const std::string& text) : path_(path) {
    if (!yaml_parser_initialize(&parser_)) throw LibraryError("cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    if (!yaml_parser_load(&parser_, &document_)) {
      const std::string problem = parser_.problem ? parser_.problem : "unreadable";
      const int line = static_cast<int>(parser_.problem_mark.line) + 1;
      yaml_parser_delete(&parser_);
      throw UsageError("pipeline file '" + path + "': malformed YAML at line " +
                       std::to_string(line) + ": " + problem);
    }
  }
  ~YamlDocument() {
    yaml_document_delete(&document_);
    yaml_parser_delete(&parser_);
  }
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  yaml_node_t* root() { return yaml_document_get_root_node(&document_); }
  yaml_node_t* node(int id) { return yaml_document_get_node(&document_, id); }

 private:
  std::string path_;
  yaml_parser_t parser_;
  yaml_document_t document_;
};

int line_of(const yaml_node_t* node) {
  return static_cast<int>(node->start_mark.line) + 1;
}

std::string scalar_text(const yaml_node_t* node) {
  return std::string(reinterpret_cast<const char*>(node->data.scalar.value),
                     node->data.scalar.length);
}

// A name that can sit inside an option name: a letter, then letters, digits or underscores.
bool valid_name(const std::string& name) {
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Limits on what a small file can make the parser build: YAML aliases let a few hundred bytes
// stand for gigabytes once each reference is copied into an option value.
constexpr size_t kMaxValueLength = 4095;                // the options layer's limit
constexpr size_t kMaxExpandedBytes = size_t{16} << 20;  // all keys and values together
constexpr size_t kMaxAliasUses = 10000;                 // references to an already used node

class Parser {
 public:
  Parser(const std::string& path, YamlDocument& document) : path_(path), document_(document) {}

  [[noreturn]] void fail(const yaml_node_t* node, const std::string& problem) const {
    throw UsageError("pipeline file '" + path_ + "', line " + std::to_string(line_of(node)) + ": " +
                     problem);
  }

  struct Pair {
    std::string key;
    yaml_node_t* key_node;  // messages point at the key's line: a value may start below it
    yaml_node_t* value;
  };

  // The (key, value) pairs of a mapping node, keys checked to be distinct scalars.
  std::vector<Pair> mapping(const yaml_node_t* node, const std::string& what) {
    if (node->type != YAML_MAPPING_NODE) fail(node, what + " must be a mapping of keys to values");
    std::vector<Pair> pairs;
    std::set<std::string> seen;
    for (auto* pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; ++pair) {
      yaml_node_t* key = document_.node(pair->key);
      if (key->type != YAML_SCALAR_NODE) fail(key, "a key in " + what + " is not a plain name");
      const std::string name = scalar_text(key);
      if (!seen.insert(name).second) fail(key, "'" + name + "' appears twice in " + what);
      pairs.push_back({name, key, document_.node(pair->value)});
    }
    return pairs;
  }

  PipelineEntry entry(const std::string& name, const yaml_node_t* node, const std::string& what) {
    PipelineEntry result;
    result.name = name;
    result.line = line_of(node);
    // "name:" with nothing under it: an entry with every option at its default.
    if (node->type == YAML_SCALAR_NODE && scalar_text(node).empty()) return result;
    for (const auto& [key, key_node, value] : mapping(node, what)) {
      if (!valid_name(key)) fail(key_node, "'" + key + "' in " + what + " is not an option name");
      PipelineOption option{key, "", line_of(key_node)};
      const std::string named = "option '" + key + "' in " + what;
      visit(value, named);
      if (value->type == YAML_SCALAR_NODE) {
        option.value = scalar_text(value);
      } else if (value->type == YAML_SEQUENCE_NODE) {
        for (auto* item = value->data.sequence.items.start; item < value->data.sequence.items.top;
             ++item) {
          const yaml_node_t* element = document_.node(*item);
          if (element->type != YAML_SCALAR_NODE) {
            fail(element, named + ": list items must be plain values");
          }
          visit(element, named);
          // Checked before the copy: the value is bounded, whatever the list holds.
          if (option.value.size() + 1 + element->data.scalar.length > kMaxValueLength) {
            fail(element,
                 named + " is longer than " + std::to_string(kMaxValueLength) + " characters");
          }
          option.value += (option.value.empty() ? "" : ",") + scalar_text(element);
        }
        if (option.value.empty()) fail(value, "option '" + key + "' in " + what + " is empty");
      } else {
        fail(value, "option '" + key + "' in " + what +
                        " must be a value or a list of values, not a mapping");
      }
      if (option.value.size() > kMaxValueLength) {
        fail(value, named + " is longer than " + std::to_string(kMaxValueLength) + " characters");
      }
      expanded_bytes_ += key.size() + option.value.size();
      if (expanded_bytes_ > kMaxExpandedBytes) {
        fail(value, "the options add up to more than " + std::to_string(kMaxExpandedBytes >> 20) +
                        " MiB (aliases repeating large values?)");
      }
      result.options.push_back(option);
    }
    return result;
  }

  // True for a non-empty mapping whose values are all mappings (named entries).
  bool holds_mappings(const yaml_node_t* node) {
    if (node->type != YAML_MAPPING_NODE) return false;
    const auto pairs = mapping(node, "'analyze'");
    size_t nested = 0;
    for (const auto& pair : pairs) nested += pair.value->type == YAML_MAPPING_NODE;
    if (nested > 0 && nested < pairs.size()) {
      fail(node, "'analyze' mixes options and named analyses: use one or the other");
    }
    return !pairs.empty() && nested == pairs.size();
  }

  // A stage holding named entries (datasets or models).
  std::vector<PipelineEntry> named_entries(const yaml_node_t* node, const std::string& stage,
                                           const std::string& kind) {
    std::vector<PipelineEntry> entries;
    for (const auto& [name, key_node, value] : mapping(node, "'" + stage + "'")) {
      if (!valid_name(name)) {
        fail(key_node, "'" + name + "' under '" + stage + "' is not a usable " + kind +
                           " name (a letter, then letters, digits or underscores)");
      }
      entries.push_back(entry(name, value, "'" + stage + ": " + name + "'"));
      entries.back().line = line_of(key_node);
    }
    return entries;
  }

 private:
  // Counts a node each time it is reached: a node reached twice is an alias in use.
  void visit(const yaml_node_t* node, const std::string& where) {
    if (!visited_.insert(node).second && ++alias_uses_ > kMaxAliasUses) {
      fail(node, where + ": more than " + std::to_string(kMaxAliasUses) +
                     " uses of YAML aliases in the file");
    }
  }

  std::string path_;
  YamlDocument& document_;
  std::unordered_set<const yaml_node_t*> visited_;
  size_t alias_uses_ = 0;
  size_t expanded_bytes_ = 0;
};

}  // namespace

// Larger than any real pipeline (the 152-model study is 20 KB): reading is bounded too.
constexpr long kMaxPipelineBytes = long{16} << 20;

std::string read_pipeline_text(const std::string& path) {
  std::ifstream in(path);
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw UsageError("pipeline file '" + path + "' does not exist");
  }
  if (S_ISDIR(info.st_mode) || !in) throw UsageError("pipeline file '" + path + "' cannot be read");
  if (info.st_size > kMaxPipelineBytes) {
    throw UsageError("pipeline file '" + path + "' is larger than " +
                     std::to_string(kMaxPipelineBytes >> 20) + " MiB");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

PipelineFile parse_pipeline(const std::string& path, const std::string& text) {
  YamlDocument document(path, text);
  yaml_node_t* root = document.root();
  if (root == nullptr) throw UsageError("pipeline file '" + path + "' is empty");
  Parser parser(path, document);
  PipelineFile file;
  file.path = path;
  for (const auto& [stage, key_node, node] : parser.mapping(root, "the pipeline file")) {
    if (stage == "generate") {
      file.datasets = parser.named_entries(node, stage, "dataset");
    } else if (stage == "train") {
      for (auto& entry : parser.named_entries(node, stage, "model")) {
        if (entry.name == "defaults") {
          file.train_defaults = std::move(entry);
        } else {
          file.models.push_back(std::move(entry));
        }
      }
    } else if (stage == "analyze") {
      if (parser.holds_mappings(node)) {
        file.analyses = parser.named_entries(node, stage, "analysis");
      } else {
        file.analyses.push_back(parser.entry("", node, "'analyze'"));
        file.analyses.back().line = line_of(key_node);
      }
    } else {
      parser.fail(key_node, "unknown stage '" + stage + "' (stages: generate, train, analyze)");
    }
  }
  for (const auto& analysis : file.analyses) {
    if (analysis.name == "results") {
      throw UsageError("pipeline file '" + path + "', line " + std::to_string(analysis.line) +
                       ": 'results' is reserved; name the analysis otherwise");
    }
  }
  for (const auto& model : file.models) {
    if (file.dataset(model.name) != nullptr) {
      throw UsageError("pipeline file '" + path + "', line " + std::to_string(model.line) + ": '" +
                       model.name + "' names both a dataset and a model");
    }
  }
  return file;
}

}  // namespace rgflow
