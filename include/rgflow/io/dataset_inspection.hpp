// What `rgflow info` reads from a dataset besides its values: the description it prints
// (attributes and provenance) and -verify, a check of the file that trusts nothing in it: every
// coarse level recomputed from the level below as stored, every checksum recomputed, completeness
// flags and attributes.
#pragma once

#include <string>

#include "rgflow/core/mpi.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow::io {

/// The map from each level to the next as messages name it: "block map" for i.i.d. fields,
/// "<rg_map> map" (e.g. "majority map") for Ising datasets.
std::string coarse_map_name(const DatasetSpec& spec);

/// Whether the levels of `spec` follow the CLT map: i.i.d. fields coarse-grained with
/// Delta = d/2, whose cumulants the exact recursion predicts from the distribution's alone.
bool follows_clt_map(const DatasetSpec& spec);

/// The two lines `rgflow info` prints first (each ending in a newline): the path and the
/// attributes that determine the contents (for Ising datasets the chain and the stored
/// autocorrelation times), " (INCOMPLETE)" for an unfinished file, then when and by which command
/// it was made. Serial HDF5 attribute reads of an Ising dataset's file, local: every rank calls
/// it, so a damaged attribute fails on every rank alike.
std::string dataset_description(const DatasetReader& reader);

/// -verify: the file-wide checks (the complete flag, /sample_complete, derived attributes) on
/// every rank alike, then each rank's share of the samples (piece_range over `world`): every value
/// finite (every spin +1 or -1), every coarse level the map of the level below as stored
/// (recomputed with generate's kernels, so equality is exact), every checksum. The first problem
/// in (sample, level) order wins whatever the rank count: a UsageError naming it, on every rank.
/// Collective over `world` (the verdicts are merged over it); each rank reads its samples through
/// its own serial HDF5 handle, in steps of whole top-level block rows of bounded size.
void verify_dataset(const Comm& world, const DatasetReader& reader);

/// The line `rgflow info -verify` prints when verify_dataset passed (no newline): what was checked.
std::string verified_summary(const DatasetReader& reader);

}  // namespace rgflow::io
