// The comma-separated lists of options, pipeline files and HDF5 attributes (core/text).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rgflow/core/text.hpp"

namespace rgflow {
namespace {

using Items = std::vector<std::string>;

TEST(Text, SplitListKeepsInnerEmptyItemsAndDropsATrailingSeparator) {
  EXPECT_EQ(split_list(""), Items{});
  EXPECT_EQ(split_list("a"), Items{"a"});
  EXPECT_EQ(split_list("a,b"), (Items{"a", "b"}));
  EXPECT_EQ(split_list("a,,b"), (Items{"a", "", "b"}));
  EXPECT_EQ(split_list("a,"), Items{"a"});
  EXPECT_EQ(split_list("a;b", ';'), (Items{"a", "b"}));
}

TEST(Text, NonEmptyItemsAreTheFilesOfAList) {
  EXPECT_EQ(non_empty_items(""), Items{});
  EXPECT_EQ(non_empty_items(","), Items{});
  EXPECT_EQ(non_empty_items("m1.h5"), Items{"m1.h5"});
  EXPECT_EQ(non_empty_items(",runs/a.h5,,b.h5,"), (Items{"runs/a.h5", "b.h5"}));
  EXPECT_EQ(join_list(non_empty_items("a,,b")), "a,b");
}

}  // namespace
}  // namespace rgflow
