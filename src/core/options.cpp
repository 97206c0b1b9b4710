#include "rgflow/core/options.hpp"

#include <petscsys.h>
#include <sys/stat.h>
#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rgflow/core/error.hpp"
#include "rgflow/core/petsc.hpp"

namespace rgflow {

OptionReader::OptionReader(std::string prefix, bool help)
    : prefix_(std::move(prefix)), help_(help) {}

std::string OptionReader::full_name(const std::string& name) const {
  return "-" + prefix_ + name;
}

bool OptionReader::given(const std::string& name) const {
  PetscBool set = PETSC_FALSE;
  RGFLOW_PETSC(PetscOptionsHasName(nullptr, prefix_.empty() ? nullptr : prefix_.c_str(),
                                   ("-" + name).c_str(), &set));
  return set == PETSC_TRUE;
}

bool OptionReader::lookup(const std::string& name, std::string* value) const {
  // One byte more than the longest accepted value: a value that fills it was cut by PETSc.
  std::vector<char> buffer(kMaxOptionLength + 2, '\0');
  PetscBool set = PETSC_FALSE;
  RGFLOW_PETSC(PetscOptionsGetString(nullptr, prefix_.empty() ? nullptr : prefix_.c_str(),
                                     ("-" + name).c_str(), buffer.data(), buffer.size(), &set));
  if (!set) return false;
  if (std::strlen(buffer.data()) > kMaxOptionLength) {
    throw UsageError("option " + full_name(name) + ": the value is longer than " +
                     std::to_string(kMaxOptionLength) + " characters");
  }
  *value = buffer.data();
  return true;
}

int64_t OptionReader::get_int(const std::string& name, int64_t default_value,
                              const std::string& description, int64_t min_value,
                              int64_t max_value) {
  if (help_) {
    help_lines_.push_back(full_name(name) + " <int>  " + description + " [default " +
                          std::to_string(default_value) + "]");
    return default_value;
  }
  std::string text;
  if (!lookup(name, &text)) return default_value;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    throw UsageError("option " + full_name(name) + ": '" + text + "' is not an integer");
  }
  if (value < min_value || value > max_value) {
    std::string allowed = "at least " + std::to_string(min_value);
    if (max_value < INT64_MAX) {
      allowed = "between " + std::to_string(min_value) + " and " + std::to_string(max_value);
    }
    throw UsageError("option " + full_name(name) + ": " + text + " is out of range (must be " +
                     allowed + ")");
  }
  return value;
}

double OptionReader::get_real(const std::string& name, double default_value,
                              const std::string& description) {
  if (help_) {
    char shown[64];
    std::snprintf(shown, sizeof shown, "%g", default_value);
    help_lines_.push_back(full_name(name) + " <real>  " + description + " [default " + shown + "]");
    return default_value;
  }
  std::string text;
  if (!lookup(name, &text)) return default_value;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) {
    throw UsageError("option " + full_name(name) + ": '" + text + "' is not a finite number");
  }
  return value;
}

std::string OptionReader::get_string(const std::string& name, const std::string& default_value,
                                     const std::string& description) {
  if (help_) {
    help_lines_.push_back(full_name(name) + " <text>  " + description +
                          (default_value.empty() ? "" : " [default " + default_value + "]"));
    return default_value;
  }
  std::string text;
  if (!lookup(name, &text)) return default_value;
  if (text.empty()) throw UsageError("option " + full_name(name) + " needs a value");
  return text;
}

std::string OptionReader::get_choice(const std::string& name, const std::string& default_value,
                                     const std::vector<std::string>& choices,
                                     const std::string& description) {
  std::string allowed;
  for (const auto& choice : choices) allowed += (allowed.empty() ? "" : ", ") + choice;
  if (help_) {
    help_lines_.push_back(full_name(name) + " <" + allowed + ">  " + description + " [default " +
                          default_value + "]");
    return default_value;
  }
  std::string text;
  if (!lookup(name, &text)) return default_value;
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    throw UsageError("option " + full_name(name) + ": unknown value '" + text +
                     "' (allowed: " + allowed + ")");
  }
  return text;
}

bool OptionReader::get_flag(const std::string& name, const std::string& description) {
  if (help_) {
    help_lines_.push_back(full_name(name) + "  " + description + " [default off]");
    return false;
  }
  std::string text;
  if (!lookup(name, &text)) return false;
  if (text.empty() || text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  throw UsageError("option " + full_name(name) + ": '" + text +
                   "' is not a switch value (use true or false, or give the option alone)");
}

void OptionReader::print_help(const std::string& title) const {
  std::printf("%s\n", title.c_str());
  for (const auto& line : help_lines_) std::printf("  %s\n", line.c_str());
  std::printf(
      "  -options_file <file>, -options_file_yaml <file>  read options from a file\n"
      "  -log_view  PETSc's profile of where the time went\n");
}

std::vector<std::pair<std::string, std::string>> unused_options() {
  std::vector<std::pair<std::string, std::string>> options;
  PetscInt count = 0;
  char** names = nullptr;
  char** values = nullptr;
  RGFLOW_PETSC(PetscOptionsLeftGet(nullptr, &count, &names, &values));
  for (PetscInt k = 0; k < count; ++k) options.emplace_back(names[k], values[k] ? values[k] : "");
  RGFLOW_PETSC(PetscOptionsLeftRestore(nullptr, &count, &names, &values));
  return options;
}

std::string first_unused_option() {
  const auto options = unused_options();
  return options.empty() ? "" : options.front().first;
}

void mark_option_used(const std::string& name) {
  PetscBool found = PETSC_FALSE;
  std::vector<char> buffer(kMaxOptionLength + 2, '\0');
  RGFLOW_PETSC(PetscOptionsGetString(nullptr, nullptr, ("-" + name).c_str(), buffer.data(),
                                     buffer.size(), &found));
}

void require_all_options_used() {
  const std::string first = first_unused_option();
  if (!first.empty()) {
    throw UsageError("unknown option -" + first + " (misspelt? run with -help to list options)");
  }
}

namespace {

// A word PETSc takes as an option name: a dash, then not a number ("-5" is a value).
bool is_option_name(const char* word) {
  if (word[0] != '-' || word[1] == '\0') return false;
  char* end = nullptr;
  std::strtod(word, &end);
  return *end != '\0';
}

std::string check_readable_file(const std::string& option, const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return "option " + option + ": '" + path + "' does not exist";
  }
  if (!S_ISREG(info.st_mode)) return "option " + option + ": '" + path + "' is not a file";
  std::ifstream in(path);
  if (!in) return "option " + option + ": '" + path + "' cannot be read";
  return "";
}

}  // namespace

std::string check_yaml_options_file(const std::string& path) {
  const std::string problem = check_readable_file("-options_file_yaml", path);
  if (!problem.empty()) return problem;
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return "cannot initialise the YAML parser";
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  // Events only: the document is not built, so aliases cost nothing here.
  std::string error;
  int depth = 0;
  bool top_is_mapping = false, done = false;
  while (!done) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) {
      error = "option -options_file_yaml: '" + path + "' is malformed YAML at line " +
              std::to_string(parser.problem_mark.line + 1) + ": " +
              (parser.problem ? parser.problem : "unreadable");
      break;
    }
    const bool opens =
        event.type == YAML_MAPPING_START_EVENT || event.type == YAML_SEQUENCE_START_EVENT;
    const bool content = opens || event.type == YAML_SCALAR_EVENT || event.type == YAML_ALIAS_EVENT;
    if (content && depth == 0) top_is_mapping = event.type == YAML_MAPPING_START_EVENT;
    if (opens) ++depth;
    if (event.type == YAML_MAPPING_END_EVENT || event.type == YAML_SEQUENCE_END_EVENT) --depth;
    done = event.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  if (error.empty() && !top_is_mapping && text.find_first_not_of(" \t\r\n") != std::string::npos) {
    error = "option -options_file_yaml: '" + path +
            "' is not a mapping of option names to values (e.g. 'L: 1024')";
  }
  return error;
}

std::string check_arguments(const std::vector<char*>& arguments) {
  for (size_t i = 1; i < arguments.size(); ++i) {
    const char* word = arguments[i];
    const bool option = is_option_name(word);
    const bool value_of_previous = i > 1 && is_option_name(arguments[i - 1]);
    if (std::strlen(word) > kMaxOptionLength) {
      const std::string what = option ? "an option name"
                               : value_of_previous
                                   ? "the value of option " + std::string(arguments[i - 1])
                                   : "argument " + std::to_string(i);
      return what + " is longer than " + std::to_string(kMaxOptionLength) + " characters";
    }
    if (!option && !value_of_previous) {
      const std::string command = arguments[0];
      return "unexpected argument '" + std::string(word) + "' (options start with '-'" +
             (command == "run" ? "; the pipeline file comes right after 'run'" : "") +
             "; see rgflow " + command + " -help)";
    }
    if (!option) {
      const std::string previous = arguments[i - 1];
      if (previous == "-options_file") {
        const std::string problem = check_readable_file(previous, word);
        if (!problem.empty()) return problem;
      } else if (previous == "-options_file_yaml") {
        const std::string problem = check_yaml_options_file(word);
        if (!problem.empty()) return problem;
      }
    } else if (i + 1 == arguments.size() || is_option_name(arguments[i + 1])) {
      const std::string name = word;
      if (name == "-options_file" || name == "-options_file_yaml") {
        return "option " + name + " needs a file name";
      }
    }
  }
  return "";
}

bool take_help_flag(int* argc, char** argv) {
  bool found = false;
  int kept = 0;
  for (int i = 0; i < *argc; ++i) {
    if (i > 0 && (std::strcmp(argv[i], "-help") == 0 || std::strcmp(argv[i], "--help") == 0 ||
                  std::strcmp(argv[i], "-h") == 0)) {
      found = true;
      continue;
    }
    argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return found;
}

}  // namespace rgflow
