// The /model group of model.h5 (docs/schema.md): a network's specification as attributes, its
// free parameters as one dataset (what rgflow reads back, bit for bit), and its effective weights
// per layer for readers without rgflow (h5py, h5dump).
//
// Layout (schema version 1):
//   /model                      attributes: model_format = "rgflow model",
//                               model_schema_version = 1, kind, block_dim, block_side,
//                               hidden ("64,64"), activation, tying, orbit_group, strategy,
//                               bias, mean_aggregation, mean_pooling, periodic,
//                               tie_self_neighbour (int 0/1), seed, parameter_count,
//                               scalar ("float32" or "float64"), layer_count, site_order
//   /model/parameters           1-D, parameter_count values of type `scalar`: the flat vector
//                               theta of free parameters (tied entries stored once)
//   /model/layer_<l>/weight     outputs x inputs, row-major: array[r][c] = W(r, c)
//   /model/layer_<l>/neighbour_weight   gnn graph layers only, outputs x inputs
//   /model/layer_<l>/bias       outputs x 1 (zeros when bias = 0)
// for l = 0 .. layer_count - 1; the last layer is the output layer (mlp) or readout (gnn). Every
// layer dataset has a text attribute "shape_meaning" saying what its axes are.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/nn/network.hpp"

namespace rgflow::io {

constexpr const char* kModelFormat = "rgflow model";
constexpr int64_t kModelSchemaVersion = 1;

/// Writes the group /model (see the layout above) into `file`, an open, writable HDF5 file that
/// has no /model yet (LibraryError otherwise). HDF5 metadata work: on a file opened with the
/// MPI-IO driver it is collective, and every rank passes an identical network (every rank then
/// writes the same bytes); on a serial file (H5P_DEFAULT access) one process calls it.
template <typename Scalar>
void write_model(hid_t file, const nn::Network<Scalar>& net);

/// The stored specification, validated (ModelSpec::validate). UsageError, one line naming
/// `path_for_messages` and the problem, when /model is missing or is not a group, model_format
/// is not "rgflow model", the schema version differs, an attribute is missing, has the wrong
/// type or an unknown value, or the spec does not validate. Reads only: any number of processes
/// may call it on the same file at once.
nn::ModelSpec read_model_spec(hid_t file, const std::string& path_for_messages);

/// The stored network: built from the stored spec, then theta replaced by /model/parameters, so
/// parameters and outputs equal the written network's bit for bit. UsageError (as for
/// read_model_spec) also when the stored scalar type is not Scalar, the parameter count
/// (attribute or dataset extent) differs from what the architecture implies, or a parameter is
/// NaN or infinite. With `convert`, a float32 model may be read as double (widened exactly); the
/// default refuses every type mismatch. Reads only (serial HDF5), as read_model_spec.
template <typename Scalar>
nn::Network<Scalar> read_model(hid_t file, const std::string& path_for_messages,
                               bool convert = false);

/// The stored parameters' type: "float32" or "float64" (/model attribute scalar). UsageError (as
/// read_model_spec) when /model or the attribute is missing or malformed. Reads only.
std::string read_model_scalar(hid_t file, const std::string& path_for_messages);

/// Throws UsageError "'<path>' is a malformed rgflow model: <problem>": the one form in which the
/// readers of model.h5 (this one and io/training_file.hpp) refuse an object of the file.
[[noreturn]] void refuse_malformed_model(const std::string& path, const std::string& problem);

}  // namespace rgflow::io
