#include "rgflow/io/model_file.hpp"

#include <cmath>
#include <sstream>
#include <type_traits>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"

namespace rgflow::io {
namespace {

template <typename Scalar>
std::string scalar_name() {
  return std::is_same_v<Scalar, float> ? "float32" : "float64";
}

std::string join(const std::vector<int>& values) {
  std::string text;
  for (int v : values) text += (text.empty() ? "" : ",") + std::to_string(v);
  return text;
}

// Row-major (outputs x inputs), as h5py and h5dump show it.
template <typename Scalar>
void write_matrix(hid_t group, const std::string& name, const nn::Matrix<Scalar>& m,
                  const std::string& meaning) {
  const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = m;
  h5::Hid space =
      h5::simple_space({static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(group, name.c_str(), h5::native_type<Scalar>(),
                                              space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     row_major.data()));
  h5::write_attribute(dataset.get(), "shape_meaning", meaning);
}

std::string text_attribute(hid_t group, const std::string& name, const std::string& path) {
  if (!h5::has_attribute(group, name)) {
    throw UsageError("'" + path + "' is a malformed model: /model has no attribute '" + name + "'");
  }
  return h5::read_string_attribute(group, name);
}

int64_t int_attribute(hid_t group, const std::string& name, const std::string& path) {
  if (!h5::has_attribute(group, name)) {
    throw UsageError("'" + path + "' is a malformed model: /model has no attribute '" + name + "'");
  }
  return h5::read_int_attribute(group, name);
}

template <typename T>
T parsed(const std::optional<T>& value, const std::string& what, const std::string& text,
         const std::string& path) {
  if (!value) {
    throw UsageError("'" + path + "' is a malformed model: unknown " + what + " '" + text + "'");
  }
  return *value;
}

}  // namespace

template <typename Scalar>
void write_model(hid_t file, const nn::Network<Scalar>& net) {
  const nn::ModelSpec& spec = net.spec();
  h5::Hid group = h5::group_id(H5Gcreate2(file, "/model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  const hid_t g = group.get();
  using h5::write_attribute;
  write_attribute(g, "model_format", std::string(kModelFormat));
  write_attribute(g, "model_schema_version", kModelSchemaVersion);
  write_attribute(g, "kind", nn::model_kind_name(spec.kind));
  write_attribute(g, "block_dim", int64_t{spec.block.dim});
  write_attribute(g, "block_side", int64_t{spec.block.side});
  write_attribute(g, "hidden", join(spec.hidden));
  write_attribute(g, "activation", nn::activation_name(spec.activation));
  write_attribute(g, "tying", nn::tying_name(spec.tying));
  write_attribute(g, "orbit_group", spec.orbit_group);
  write_attribute(g, "strategy", nn::strategy_name(spec.strategy));
  write_attribute(g, "bias", int64_t{spec.bias});
  write_attribute(g, "mean_aggregation", int64_t{spec.mean_aggregation});
  write_attribute(g, "mean_pooling", int64_t{spec.mean_pooling});
  write_attribute(g, "periodic", int64_t{spec.periodic});
  write_attribute(g, "tie_self_neighbour", int64_t{spec.tie_self_neighbour});
  write_attribute(g, "seed", static_cast<int64_t>(spec.seed));
  write_attribute(g, "parameter_count", static_cast<int64_t>(net.parameter_count()));
  write_attribute(g, "scalar", scalar_name<Scalar>());
  write_attribute(g, "site_order",
                  std::string("block sites row-major, last axis fastest: site (c0,..) = "
                              "((c0 b + c1) b + c2)"));
  {
    h5::Hid space = h5::simple_space({static_cast<hsize_t>(net.parameter_count())});
    h5::Hid dataset =
        h5::dataset_id(H5Dcreate2(g, "parameters", h5::native_type<Scalar>(), space.get(),
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       net.parameters()));
    h5::write_attribute(dataset.get(), "meaning",
                        std::string("free parameters (tied weights once); the layer_<l> "
                                    "datasets are the effective weights they imply"));
  }
  const bool gnn = spec.kind == nn::ModelKind::kGnn;
  for (int layer = 0; layer < net.layer_count(); ++layer) {
    const std::string name = "layer_" + std::to_string(layer);
    h5::Hid layer_group =
        h5::group_id(H5Gcreate2(g, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const bool graph_layer = gnn && layer + 1 < net.layer_count();
    write_matrix<Scalar>(layer_group.get(), "weight", net.weight(layer),
                         graph_layer ? "outputs x inputs (self weights)" : "outputs x inputs");
    if (graph_layer) {
      write_matrix<Scalar>(layer_group.get(), "neighbour_weight", net.neighbour_weight(layer),
                           "outputs x inputs (neighbour weights)");
    }
    const nn::Matrix<Scalar> bias = net.bias(layer);
    write_matrix<Scalar>(layer_group.get(), "bias", bias, "outputs x 1");
  }
}

nn::ModelSpec read_model_spec(hid_t file, const std::string& path) {
  if (!h5::link_exists(file, "/model")) {
    throw UsageError("'" + path + "' is not an rgflow model (no /model group)");
  }
  h5::Hid group = h5::group_id(H5Gopen2(file, "/model", H5P_DEFAULT));
  const hid_t g = group.get();
  if (!h5::has_attribute(g, "model_format") ||
      h5::read_string_attribute(g, "model_format") != kModelFormat) {
    throw UsageError("'" + path + "' is not an rgflow model (model_format is not '" + kModelFormat +
                     "')");
  }
  const int64_t version = int_attribute(g, "model_schema_version", path);
  if (version != kModelSchemaVersion) {
    throw UsageError("'" + path + "' has model schema version " + std::to_string(version) +
                     "; this rgflow reads version " + std::to_string(kModelSchemaVersion));
  }
  nn::ModelSpec spec;
  std::string text = text_attribute(g, "kind", path);
  spec.kind = parsed(nn::parse_model_kind(text), "model kind", text, path);
  spec.block.dim = static_cast<int>(int_attribute(g, "block_dim", path));
  spec.block.side = static_cast<int>(int_attribute(g, "block_side", path));
  spec.hidden.clear();
  std::stringstream widths(text_attribute(g, "hidden", path));
  for (std::string width; std::getline(widths, width, ',');) {
    try {
      spec.hidden.push_back(std::stoi(width));
    } catch (const std::exception&) {
      throw UsageError("'" + path + "' is a malformed model: hidden widths '" + widths.str() + "'");
    }
  }
  text = text_attribute(g, "activation", path);
  spec.activation = parsed(nn::parse_activation(text), "activation", text, path);
  text = text_attribute(g, "tying", path);
  spec.tying = parsed(nn::parse_tying(text), "tying", text, path);
  spec.orbit_group = text_attribute(g, "orbit_group", path);
  text = text_attribute(g, "strategy", path);
  spec.strategy = parsed(nn::parse_strategy(text), "strategy", text, path);
  spec.bias = int_attribute(g, "bias", path) != 0;
  spec.mean_aggregation = int_attribute(g, "mean_aggregation", path) != 0;
  spec.mean_pooling = int_attribute(g, "mean_pooling", path) != 0;
  spec.periodic = int_attribute(g, "periodic", path) != 0;
  spec.tie_self_neighbour = int_attribute(g, "tie_self_neighbour", path) != 0;
  spec.seed = static_cast<uint64_t>(int_attribute(g, "seed", path));
  const std::string problem = spec.validate();
  if (!problem.empty()) throw UsageError("'" + path + "' is a malformed model: " + problem);
  return spec;
}

template <typename Scalar>
nn::Network<Scalar> read_model(hid_t file, const std::string& path, bool convert) {
  nn::Network<Scalar> net(read_model_spec(file, path));
  h5::Hid group = h5::group_id(H5Gopen2(file, "/model", H5P_DEFAULT));
  const std::string scalar = text_attribute(group.get(), "scalar", path);
  const bool widening = convert && scalar == "float32" && std::is_same_v<Scalar, double>;
  if (scalar != scalar_name<Scalar>() && !widening) {
    throw UsageError("'" + path + "' holds a " + scalar + " model; a " + scalar_name<Scalar>() +
                     " one is needed here");
  }
  if (!h5::link_exists(file, "/model/parameters")) {
    throw UsageError("'" + path + "' is a malformed model: /model/parameters is missing");
  }
  h5::Hid dataset = h5::dataset_id(H5Dopen2(group.get(), "parameters", H5P_DEFAULT));
  h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (H5Sget_simple_extent_ndims(space.get()) != 1 || count != net.parameter_count() ||
      int_attribute(group.get(), "parameter_count", path) != net.parameter_count()) {
    throw UsageError("'" + path + "' is a malformed model: it stores " + std::to_string(count) +
                     " parameters, its architecture has " + std::to_string(net.parameter_count()));
  }
  RGFLOW_H5(H5Dread(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                    net.parameters()));
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    if (!std::isfinite(net.parameters()[i])) {
      throw UsageError("'" + path + "' is a malformed model: parameter " + std::to_string(i) +
                       " is not finite");
    }
  }
  return net;
}

template void write_model<float>(hid_t, const nn::Network<float>&);
template void write_model<double>(hid_t, const nn::Network<double>&);
template nn::Network<float> read_model<float>(hid_t, const std::string&, bool);
template nn::Network<double> read_model<double>(hid_t, const std::string&, bool);

}  // namespace rgflow::io
