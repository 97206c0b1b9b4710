// Comma-separated lists, as options, pipeline files and HDF5 attributes write them, and the
// names of enumerations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rgflow {

/// The items of `text` separated by `separator`, in order. Empty items inside the list are kept
/// (callers that need non-empty items say so in their messages); a trailing separator adds no
/// item, and an empty text has none.
std::vector<std::string> split_list(const std::string& text, char separator = ',');

/// The non-empty items of the comma-separated `text`, in order: a list of files, where an empty
/// item (a doubled or trailing comma) names no file.
std::vector<std::string> non_empty_items(const std::string& text);

/// The items joined by commas.
std::string join_list(const std::vector<std::string>& items);
std::string join_list(const std::vector<int>& items);

/// A byte count in MiB with four significant digits ("0.25 MiB"), for budget messages.
std::string mib_text(int64_t bytes);

/// The enumerator whose name is `name`, where names[i] names the enumerator of value i.
template <typename Enum>
std::optional<Enum> parse_name(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace rgflow
