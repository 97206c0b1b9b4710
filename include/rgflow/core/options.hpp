// Options: PETSc's options database is the only source (command line, -options_file,
// -options_file_yaml). A stage reads all its options through one OptionReader into a plain config
// struct; every value is parsed and range-checked here, with messages that name the option, the
// value and what is allowed. Reading is local (no communication): every rank holds the same
// database, so every rank reaches the same verdict.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rgflow {

/// The longest option value accepted (PETSc's own limit for values it hands back in a buffer);
/// a longer one is refused, never truncated.
constexpr size_t kMaxOptionLength = 4095;

class OptionReader {
 public:
  /// `prefix` is prepended to every name (e.g. "generate_" inside a pipeline file); `help` makes
  /// every getter return its default and record a line for print_help().
  OptionReader(std::string prefix, bool help);

  int64_t get_int(const std::string& name, int64_t default_value, const std::string& description,
                  int64_t min_value, int64_t max_value);
  double get_real(const std::string& name, double default_value, const std::string& description);
  std::string get_string(const std::string& name, const std::string& default_value,
                         const std::string& description);
  /// A value from a fixed list (`choices`).
  std::string get_choice(const std::string& name, const std::string& default_value,
                         const std::vector<std::string>& choices, const std::string& description);
  /// A switch: "-name", "-name true" or "-name false".
  bool get_flag(const std::string& name, const std::string& description);
  /// True if the option was given (without marking it used).
  bool given(const std::string& name) const;

  bool help() const { return help_; }
  /// The full option name as the user types it ("-generate_L").
  std::string full_name(const std::string& name) const;
  void print_help(const std::string& title) const;

 private:
  /// The raw text of the option if given; marks it used.
  bool lookup(const std::string& name, std::string* value) const;

  std::string prefix_;
  bool help_;
  std::vector<std::string> help_lines_;
};

/// Every option in the default database that nothing has read, in the database's order: its
/// name (without the dash) and value ("" for a flag).
std::vector<std::pair<std::string, std::string>> unused_options();

/// The name (without the dash) of the first option in the default database that nothing has
/// read, or "".
std::string first_unused_option();

/// Marks the default database's option `name` (without the dash) as read, as reading it would.
void mark_option_used(const std::string& name);

/// Throws UsageError naming the first option in the database that nothing has read (a misspelt
/// option must not silently run with the default).
void require_all_options_used();

/// Checks the command line after the command name (`arguments[0]` is the command) before PETSc
/// reads it: a word that is neither an option nor the value of the option before it (a stray
/// positional word PETSc would ignore), a value longer than kMaxOptionLength, and an
/// -options_file or -options_file_yaml that is missing, unreadable or (YAML) malformed. Returns
/// "" or a one-line problem.
std::string check_arguments(const std::vector<char*>& arguments);

/// "" when `path` is a readable YAML file whose top level is a mapping (what PETSc's
/// -options_file_yaml takes), else the problem in one line.
std::string check_yaml_options_file(const std::string& path);

/// Removes "-help" / "--help" / "-h" from argv; returns true if one was present. PETSc would
/// otherwise print its own generic help text.
bool take_help_flag(int* argc, char** argv);

}  // namespace rgflow
