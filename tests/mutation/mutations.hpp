// Structure-aware mutations of HDF5 files, for the readers' mutation test: a valid file is walked
// (every group, dataset and attribute), and each mutation is one change a damaged, hand-edited or
// foreign file could carry: an attribute deleted, retyped (integer, float, string, variable-length
// string, compound, array, empty), given extreme values; a dataset replaced by a group, a dangling
// link, integers, strings or a compound type, reshaped, or given NaN and Inf values; a group
// replaced by a dataset or emptied; the file truncated. Plain HDF5 C calls, serial access.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace rgflow::mutation {

struct Mutation {
  std::string description;  // e.g. "attribute /levels: int64 64"
  /// Applies the change to the open, writable file; false if HDF5 cannot make it (not a case).
  std::function<bool(hid_t file)> apply;
  /// Truncation: the file is cut to this many bytes instead (apply unused); -1 otherwise.
  int64_t truncate_to = -1;
  /// True when every reader must refuse the result (e.g. a field that is no longer floats).
  bool must_refuse = false;
};

struct MutationOptions {
  int truncations = 24;   // random truncation offsets per file (plus fixed ones)
  int random_values = 4;  // random NaN / Inf positions per floating-point dataset
  uint64_t seed = 1;      // for the random offsets and positions
  /// Paths whose every change must be refused (exact object paths, e.g. "/level_0/field").
  std::vector<std::string> essential_datasets;
  /// Attribute mutations that must be refused: "<object path>@<attribute>=<description>" is
  /// matched by the predicate.
  std::function<bool(const std::string& object, const std::string& attribute,
                     const std::string& change)>
      attribute_must_refuse;
};

/// Every mutation of the file at `path` (opened read-only here to walk it).
std::vector<Mutation> enumerate_mutations(const std::string& path, const MutationOptions& options);

/// Copies `from` to `to` and applies `mutation`; false if the mutation does not apply.
bool make_mutant(const std::string& from, const std::string& to, const Mutation& mutation);

}  // namespace rgflow::mutation
