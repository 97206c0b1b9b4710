#include "rgflow/core/options.hpp"

#include <petscsys.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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
  char buffer[4096] = {0};
  PetscBool set = PETSC_FALSE;
  RGFLOW_PETSC(PetscOptionsGetString(nullptr, prefix_.empty() ? nullptr : prefix_.c_str(),
                                     ("-" + name).c_str(), buffer, sizeof buffer, &set));
  if (set) *value = buffer;
  return set == PETSC_TRUE;
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

std::string first_unused_option() {
  PetscInt count = 0;
  char** names = nullptr;
  char** values = nullptr;
  RGFLOW_PETSC(PetscOptionsLeftGet(nullptr, &count, &names, &values));
  std::string first;
  if (count > 0) first = names[0];
  RGFLOW_PETSC(PetscOptionsLeftRestore(nullptr, &count, &names, &values));
  return first;
}

void require_all_options_used() {
  const std::string first = first_unused_option();
  if (!first.empty()) {
    throw UsageError("unknown option -" + first + " (misspelt? run with -help to list options)");
  }
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
