// Options: PETSc's options database is the only source (command line, -options_file,
// -options_file_yaml). A stage reads all its options through one OptionReader into a plain config
// struct; every value is parsed and range-checked here, with messages that name the option, the
// value and what is allowed. Reading is local (no communication): every rank holds the same
// database, so every rank reaches the same verdict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rgflow {

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

/// The name (without the dash) of the first option in the default database that nothing has
/// read, or "".
std::string first_unused_option();

/// Throws UsageError naming the first option in the database that nothing has read (a misspelt
/// option must not silently run with the default).
void require_all_options_used();

/// Removes "-help" / "--help" / "-h" from argv; returns true if one was present. PETSc would
/// otherwise print its own generic help text.
bool take_help_flag(int* argc, char** argv);

}  // namespace rgflow
