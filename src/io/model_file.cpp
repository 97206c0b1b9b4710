#include "rgflow/io/model_file.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/text.hpp"

namespace rgflow::io {
namespace {

// Every helper below that takes a hid_t does HDF5 metadata work (creating or opening groups,
// datasets and attributes) on a file that one process opened with serial HDF5: local, one rank.

template <typename Scalar>
std::string scalar_name() {
  return std::is_same_v<Scalar, float> ? "float32" : "float64";
}

// Stored as little-endian IEEE whatever the host, like the dataset files; on the usual hosts
// this is the native layout, so writing and reading convert nothing.
template <typename Scalar>
hid_t file_type() {
  return std::is_same_v<Scalar, float> ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
}

// A value from the file, safe to quote in a one-line message: control characters become spaces
// and long values are cut.
std::string quoted(const std::string& value) {
  std::string text = value.size() > 64 ? value.substr(0, 64) + "..." : value;
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return "'" + text + "'";
}

// Opens `name` below `location` and checks that it is an object of `type` (a group where a group
// belongs, a dataset where a dataset belongs), so a wrong file gives a UsageError, not an HDF5
// failure deep inside a read.
h5::Hid open_object(hid_t location, const std::string& name, H5I_type_t type,
                    const std::string& shown_name, const std::string& path) {
  const char* kind = type == H5I_GROUP ? "group" : "dataset";
  if (!h5::link_exists(location, name)) refuse_malformed_model(path, shown_name + " is missing");
  h5::Hid object;
  try {
    object = h5::Hid(RGFLOW_H5(H5Oopen(location, name.c_str(), H5P_DEFAULT)), H5Oclose);
  } catch (const LibraryError&) {
    refuse_malformed_model(path, shown_name + " cannot be opened as an HDF5 object");
  }
  if (H5Iget_type(object.get()) != type)
    refuse_malformed_model(path, shown_name + " is not a " + kind);
  return object;
}

// Writes a matrix as a 2-D dataset in HDF5's row-major order, so that h5py's array[r][c] is
// m(r, c) (Eigen stores column-major: transpose the storage, not the matrix), its axes named by
// the coordinates `rows` and `columns` of the group.
template <typename Scalar>
void write_matrix(hid_t group, const std::string& name, const nn::Matrix<Scalar>& m,
                  const std::string& shape_meaning, hid_t rows, hid_t columns) {
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMajor row_major = m;
  h5::Hid space =
      h5::simple_space({static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(group, name.c_str(), file_type<Scalar>(), space.get(),
                                              H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     row_major.data()));
  h5::write_attribute(dataset.get(), "shape_meaning", shape_meaning);
  h5::attach_coordinates(dataset.get(), {rows, columns});
}

// Reads the attributes of /model, turning every problem into a UsageError naming the file.
class AttributeReader {
 public:
  AttributeReader(hid_t group, const std::string& path) : group_(group), path_(path) {}

  std::string text(const std::string& name) const {
    require_present(name);
    try {
      return h5::read_string_attribute(group_, name);
    } catch (const UsageError&) {
      refuse_malformed_model(path_, "attribute '" + name + "' is not a fixed-length text");
    }
  }

  int64_t integer(const std::string& name) const {
    require_present(name);
    try {
      return h5::read_int_attribute(group_, name);
    } catch (const UsageError&) {
      refuse_malformed_model(path_, "attribute '" + name + "' is not an integer");
    }
  }

  /// An integer that must fit an int (the spec's range checks come later, in validate()).
  int small_integer(const std::string& name) const {
    const int64_t value = integer(name);
    if (value < INT_MIN || value > INT_MAX) {
      refuse_malformed_model(
          path_, "attribute '" + name + "' is " + std::to_string(value) + ", out of range");
    }
    return static_cast<int>(value);
  }

  /// A 0/1 flag; any other value is refused rather than guessed at.
  bool flag(const std::string& name) const {
    const int64_t value = integer(name);
    if (value != 0 && value != 1) {
      refuse_malformed_model(
          path_, "attribute '" + name + "' is " + std::to_string(value) + ", not 0 or 1");
    }
    return value == 1;
  }

  /// A name from a fixed list, through the nn module's parser.
  template <typename T, typename Parser>
  T choice(const std::string& name, Parser parse) const {
    const std::string value = text(name);
    const std::optional<T> parsed = parse(value);
    if (!parsed) refuse_malformed_model(path_, "unknown " + name + " " + quoted(value));
    return *parsed;
  }

  /// Comma-separated positive widths, e.g. "64,64"; nothing else (no spaces, signs, suffixes or
  /// empty items).
  std::vector<int> widths(const std::string& name) const {
    const std::string value = text(name);
    std::vector<int> result;
    for (const std::string& item : split_list(value)) {
      int width = 0;
      const char* last = item.data() + item.size();
      const auto [stop, error] = std::from_chars(item.data(), last, width);
      if (item.empty() || item[0] == '-' || error != std::errc() || stop != last) break;
      result.push_back(width);
    }
    // One width per item, and an item after every comma ("64," and "" have too few).
    if (static_cast<size_t>(std::count(value.begin(), value.end(), ',')) + 1 != result.size()) {
      refuse_malformed_model(path_, "attribute '" + name + "' is " + quoted(value) +
                                        ", not comma-separated widths such as '64,64'");
    }
    return result;
  }

 private:
  void require_present(const std::string& name) const {
    if (!h5::has_attribute(group_, name))
      refuse_malformed_model(path_, "/model has no attribute '" + name + "'");
  }

  hid_t group_;
  const std::string& path_;
};

std::string weight_meaning(const nn::ModelSpec& spec, int layer, int layers) {
  const bool last = layer + 1 == layers;
  if (spec.kind == nn::ModelKind::kMlp) {
    std::string text =
        "outputs x inputs: array[r][c] = W(r,c), the weight from input c to output r; ";
    text += layer == 0 ? "inputs are the block's sites in site_order"
                       : "inputs are layer_" + std::to_string(layer - 1) + "'s outputs";
    text += last ? "; y = W h + b" : "; h' = activation(W h + b)";
    return text;
  }
  if (last) {
    return "outputs x inputs: array[r][c] = W(r,c); readout y = W p + b, p = sum (or mean, "
           "mean_pooling) over the block's nodes of the last graph layer's features";
  }
  return "outputs x inputs (features per node): array[r][c] = W_self(r,c); node i's new "
         "features are activation(W_self h_i + W_nbr a_i + b), a_i the sum (or mean, "
         "mean_aggregation) of its neighbours' features h_j";
}

}  // namespace

void refuse_malformed_model(const std::string& path, const std::string& problem) {
  throw UsageError("'" + path + "' is a malformed rgflow model: " + problem);
}

template <typename Scalar>
void write_model(hid_t file, const nn::Network<Scalar>& net) {
  const nn::ModelSpec& spec = net.spec();
  h5::Hid group = h5::create_group(file, "/model");
  const hid_t g = group.get();
  using h5::write_attribute;
  write_attribute(g, "model_format", std::string(kModelFormat));
  write_attribute(g, "model_schema_version", kModelSchemaVersion);
  write_attribute(g, "kind", nn::model_kind_name(spec.kind));
  write_attribute(g, "block_dim", int64_t{spec.block.dim});
  write_attribute(g, "block_side", int64_t{spec.block.side});
  write_attribute(g, "hidden", join_list(spec.hidden));
  write_attribute(g, "activation", nn::activation_name(spec.activation));
  write_attribute(g, "tying", nn::tying_name(spec.tying));
  write_attribute(g, "orbit_group", spec.orbit_group);
  write_attribute(g, "strategy", nn::strategy_name(spec.strategy));
  write_attribute(g, "bias", int64_t{spec.bias ? 1 : 0});
  write_attribute(g, "mean_aggregation", int64_t{spec.mean_aggregation ? 1 : 0});
  write_attribute(g, "mean_pooling", int64_t{spec.mean_pooling ? 1 : 0});
  write_attribute(g, "periodic", int64_t{spec.periodic ? 1 : 0});
  write_attribute(g, "tie_self_neighbour", int64_t{spec.tie_self_neighbour ? 1 : 0});
  // The seed's 64 bits as a signed integer (two's complement): read back exactly.
  write_attribute(g, "seed", static_cast<int64_t>(spec.seed));
  write_attribute(g, "parameter_count", static_cast<int64_t>(net.parameter_count()));
  write_attribute(g, "scalar", scalar_name<Scalar>());
  write_attribute(g, "layer_count", int64_t{net.layer_count()});
  write_attribute(g, "site_order",
                  std::string("block sites row-major, last axis fastest: site (c0,..) = "
                              "((c0 b + c1) b + c2)"));
  {
    h5::Hid space = h5::simple_space({static_cast<hsize_t>(net.parameter_count())});
    h5::Hid dataset = h5::dataset_id(H5Dcreate2(g, "parameters", file_type<Scalar>(), space.get(),
                                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       net.parameters()));
    write_attribute(dataset.get(), "meaning",
                    std::string("free parameters (each tied weight stored once); the "
                                "layer_<l> datasets hold the effective weights they imply"));
    const h5::Hid parameter = h5::coordinate(
        g, "parameter", h5::index_range(0, net.parameter_count()), "index of a free parameter");
    h5::attach_coordinates(dataset.get(), {parameter.get()});
  }
  const bool gnn = spec.kind == nn::ModelKind::kGnn;
  const int layers = net.layer_count();
  for (int layer = 0; layer < layers; ++layer) {
    const std::string name = "layer_" + std::to_string(layer);
    h5::Hid layer_group = h5::create_group(g, name);
    const bool graph_layer = gnn && layer + 1 < layers;
    const nn::Matrix<Scalar> weight = net.weight(layer);
    // Named axes for netCDF readers: `output` (rows of W and b), `input` (columns of W) and
    // `column` (the bias's single column), in the layer's group.
    const h5::Hid output = h5::coordinate(layer_group.get(), "output",
                                          h5::index_range(0, weight.rows()), "output unit r");
    const h5::Hid input = h5::coordinate(layer_group.get(), "input",
                                         h5::index_range(0, weight.cols()), "input unit c");
    const h5::Hid column = h5::coordinate(layer_group.get(), "column", std::vector<int64_t>{0},
                                          "the bias's only column");
    write_matrix<Scalar>(layer_group.get(), "weight", weight, weight_meaning(spec, layer, layers),
                         output.get(), input.get());
    if (graph_layer) {
      write_matrix<Scalar>(layer_group.get(), "neighbour_weight", net.neighbour_weight(layer),
                           "outputs x inputs (features per node): array[r][c] = W_nbr(r,c), "
                           "applied to the aggregate of a node's neighbours' features",
                           output.get(), input.get());
    }
    const nn::Matrix<Scalar> bias = net.bias(layer);
    write_matrix<Scalar>(layer_group.get(), "bias", bias,
                         spec.bias ? std::string("outputs x 1: array[r][0] = b(r)")
                                   : std::string("outputs x 1: all zero (the model has no "
                                                 "biases, attribute bias = 0)"),
                         output.get(), column.get());
  }
}

nn::ModelSpec read_model_spec(hid_t file, const std::string& path) {
  if (!h5::link_exists(file, "/model")) {
    throw UsageError("'" + path + "' is not an rgflow model (it has no /model group)");
  }
  const h5::Hid group = open_object(file, "/model", H5I_GROUP, "/model", path);
  const AttributeReader attributes(group.get(), path);
  if (!h5::has_attribute(group.get(), "model_format")) {
    throw UsageError("'" + path + "' is not an rgflow model (/model has no model_format)");
  }
  const std::string format = attributes.text("model_format");
  if (format != kModelFormat) {
    throw UsageError("'" + path + "' is not an rgflow model (model_format is " + quoted(format) +
                     ", not '" + kModelFormat + "')");
  }
  const int64_t version = attributes.integer("model_schema_version");
  if (version != kModelSchemaVersion) {
    throw UsageError("'" + path + "' has model schema version " + std::to_string(version) +
                     "; this rgflow reads version " + std::to_string(kModelSchemaVersion));
  }
  nn::ModelSpec spec;
  spec.kind = attributes.choice<nn::ModelKind>("kind", nn::parse_model_kind);
  spec.block.dim = attributes.small_integer("block_dim");
  spec.block.side = attributes.small_integer("block_side");
  spec.hidden = attributes.widths("hidden");
  spec.activation = attributes.choice<nn::Activation>("activation", nn::parse_activation);
  spec.tying = attributes.choice<nn::Tying>("tying", nn::parse_tying);
  spec.orbit_group = attributes.text("orbit_group");
  if (spec.orbit_group != "point" && spec.orbit_group != "reflections" &&
      spec.orbit_group != "full") {
    refuse_malformed_model(path, "unknown orbit_group " + quoted(spec.orbit_group));
  }
  spec.strategy = attributes.choice<nn::Strategy>("strategy", nn::parse_strategy);
  spec.bias = attributes.flag("bias");
  spec.mean_aggregation = attributes.flag("mean_aggregation");
  spec.mean_pooling = attributes.flag("mean_pooling");
  spec.periodic = attributes.flag("periodic");
  spec.tie_self_neighbour = attributes.flag("tie_self_neighbour");
  spec.seed = static_cast<uint64_t>(attributes.integer("seed"));
  // validate() includes the size limit: a spec that passes can be built.
  const std::string problem = spec.validate();
  if (!problem.empty()) refuse_malformed_model(path, problem);
  return spec;
}

std::string read_model_scalar(hid_t file, const std::string& path) {
  const h5::Hid group = open_object(file, "/model", H5I_GROUP, "/model", path);
  const std::string scalar = AttributeReader(group.get(), path).text("scalar");
  if (scalar != "float32" && scalar != "float64") {
    refuse_malformed_model(path, "unknown scalar " + quoted(scalar));
  }
  return scalar;
}

template <typename Scalar>
nn::Network<Scalar> read_model(hid_t file, const std::string& path, bool convert) {
  const nn::ModelSpec spec = read_model_spec(file, path);
  const std::string scalar = read_model_scalar(file, path);
  const h5::Hid group = open_object(file, "/model", H5I_GROUP, "/model", path);
  const AttributeReader attributes(group.get(), path);
  // float32 -> double is exact; every other mismatch would round or is refused on request.
  const bool widening = convert && scalar == "float32" && std::is_same_v<Scalar, double>;
  if (scalar != scalar_name<Scalar>() && !widening) {
    throw UsageError("'" + path + "' holds a " + scalar + " model; a " + scalar_name<Scalar>() +
                     " model is needed here");
  }

  const h5::Hid dataset =
      open_object(group.get(), "parameters", H5I_DATASET, "/model/parameters", path);
  {
    const h5::Hid type = h5::datatype_id(H5Dget_type(dataset.get()));
    const size_t bytes = scalar == "float32" ? 4 : 8;
    if (H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != bytes) {
      refuse_malformed_model(
          path, "/model/parameters is not stored as " + scalar + " (attribute scalar)");
    }
  }
  const h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  const int dims = RGFLOW_H5(H5Sget_simple_extent_ndims(space.get()));
  const int64_t stored = RGFLOW_H5(H5Sget_simple_extent_npoints(space.get()));
  const int64_t recorded = attributes.integer("parameter_count");

  // Compared from the sizes alone, before the network is built: a file whose counts disagree
  // costs nothing to refuse.
  const int64_t implied = spec.free_parameters();
  const std::string architecture = "the architecture (" + nn::model_kind_name(spec.kind) +
                                   ", hidden " + join_list(spec.hidden) + ", tying " +
                                   nn::tying_name(spec.tying) + ") has " + std::to_string(implied);
  if (recorded != implied) {
    refuse_malformed_model(
        path, "parameter_count is " + std::to_string(recorded) + " but " + architecture);
  }
  if (dims != 1 || stored != implied) {
    refuse_malformed_model(path, "/model/parameters holds " + std::to_string(stored) +
                                     " values in " + std::to_string(dims) + " dimension(s); " +
                                     architecture + " in 1");
  }
  nn::Network<Scalar> net(spec);
  if (net.parameter_count() != implied) {
    throw LibraryError("the network of '" + path + "' has " +
                       std::to_string(net.parameter_count()) + " parameters; its spec implies " +
                       std::to_string(implied));
  }
  // After construction theta holds the seeded initial values; the stored ones replace them.
  RGFLOW_H5(H5Dread(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                    net.parameters()));
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    if (!std::isfinite(net.parameters()[i])) {
      refuse_malformed_model(
          path, "parameter " + std::to_string(i) + " of /model/parameters is not finite");
    }
  }
  return net;
}

template void write_model<float>(hid_t, const nn::Network<float>&);
template void write_model<double>(hid_t, const nn::Network<double>&);
template nn::Network<float> read_model<float>(hid_t, const std::string&, bool);
template nn::Network<double> read_model<double>(hid_t, const std::string&, bool);

}  // namespace rgflow::io
