#include "rgflow/core/text.hpp"

#include <cstdio>
#include <sstream>

namespace rgflow {

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, separator);) items.push_back(item);
  return items;
}

std::vector<std::string> non_empty_items(const std::string& text) {
  std::vector<std::string> items;
  for (auto& item : split_list(text)) {
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i == 0 ? "" : ",") + items[i];
  return text;
}

std::string join_list(const std::vector<int>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i == 0 ? "" : ",") + std::to_string(items[i]);
  return text;
}

std::string mib_text(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace rgflow
