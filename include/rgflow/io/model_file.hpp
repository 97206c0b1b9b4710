// The /model group of model.h5 (docs/schema.md): a network's specification as attributes, its
// free parameters as one dataset (what rgflow reads back, bit for bit), and its effective weights
// per layer for readers without rgflow.
#pragma once

#include <hdf5.h>

#include <string>

#include "rgflow/nn/network.hpp"

namespace rgflow::io {

constexpr const char* kModelFormat = "rgflow model";
constexpr int64_t kModelSchemaVersion = 1;

/// Writes /model into an open file. An HDF5 metadata operation: in parallel, every rank calls it
/// with the same network (only rank 0's data is written).
template <typename Scalar>
void write_model(hid_t file, const nn::Network<Scalar>& net);

/// The stored specification. UsageError naming `path` when /model is missing or malformed.
nn::ModelSpec read_model_spec(hid_t file, const std::string& path);

/// The stored network. UsageError naming `path` for a missing or malformed group, another
/// scalar type (unless `convert`: then float32 parameters are widened exactly to double), a
/// parameter count that the architecture does not imply, or non-finite values.
template <typename Scalar>
nn::Network<Scalar> read_model(hid_t file, const std::string& path, bool convert = false);

}  // namespace rgflow::io
