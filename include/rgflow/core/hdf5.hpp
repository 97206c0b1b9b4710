// Thin RAII layer over the HDF5 C API: every id is owned by an Hid, every call is checked, and a
// failure becomes a LibraryError carrying HDF5's own error stack.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rgflow::h5 {

/// Throws LibraryError (with HDF5's error stack) when `status` is negative; returns it otherwise.
int64_t check(int64_t status, const char* call, const char* file, int line);
#define RGFLOW_H5(call) ::rgflow::h5::check(static_cast<int64_t>(call), #call, __FILE__, __LINE__)

/// Stops HDF5 from printing its error stack to stderr; rgflow reports errors itself.
void silence_error_printing();

/// An owned HDF5 identifier of any kind, closed with the matching H5?close at scope exit.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Hid(Hid&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now and reports failure (closing a file flushes it: its errors matter).
  void close();

 private:
  void reset() noexcept {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Checked constructors of owned ids; `what` names the object in error messages.
Hid file_id(hid_t id);
Hid group_id(hid_t id);
Hid dataset_id(hid_t id);
Hid dataspace_id(hid_t id);
Hid plist_id(hid_t id);
Hid attribute_id(hid_t id);
Hid datatype_id(hid_t id);

/// Opens an existing file read-only (serial access). A file HDF5 cannot open is an input error:
/// UsageError "cannot open '<path>'<purpose>: <HDF5's reason>".
Hid open_read_only(const std::string& path, const std::string& purpose = "");

/// Creates the group `path` below `location` (its parent must exist). HDF5 metadata work: on a
/// file opened with the MPI-IO driver it is collective over the file's communicator, with
/// identical arguments on every rank.
Hid create_group(hid_t location, const std::string& path);

/// Simple dataspace of the given shape.
Hid simple_space(const std::vector<hsize_t>& shape);

// Attributes on a file, group or dataset. Writing is an HDF5 metadata operation: in parallel it is
// collective and every rank must pass identical values. Reading checks the attribute is a single
// value (a scalar or one-element dataspace) of the right class: UsageError naming it otherwise.
void write_attribute(hid_t object, const std::string& name, int64_t value);
void write_attribute(hid_t object, const std::string& name, double value);
void write_attribute(hid_t object, const std::string& name, const std::string& value);
bool has_attribute(hid_t object, const std::string& name);
int64_t read_int_attribute(hid_t object, const std::string& name);
double read_double_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);

/// Coordinate variables (netCDF-4 conventions, so that netCDF readers such as xarray with h5netcdf
/// name a dataset's axes): a 1-D dataset `name` in `group` holding the coordinate values along
/// the dimension `name`, made an HDF5 dimension scale of that name. Integers are 64-bit, text
/// variable-length UTF-8 (what netCDF-4 strings are). If `group` already holds `name` it is
/// reused (a dimension has one length per group: a different length is a logic_error).
/// Serial HDF5 only: every write of a file opened in parallel must be collective.
Hid coordinate(hid_t group, const std::string& name, const std::vector<int64_t>& values,
               const std::string& meaning);
Hid coordinate(hid_t group, const std::string& name, const std::vector<std::string>& values,
               const std::string& meaning);
/// The integers first, first + 1, .., first + count - 1: coordinate values of an index axis.
std::vector<int64_t> index_range(int64_t first, int64_t count);
/// hidden_1, hidden_2, .., hidden_<count>: coordinate values naming a network's hidden layers
/// (results' /symmetry and /propagation, model.h5's /history).
std::vector<std::string> hidden_layer_names(size_t count);
/// Attaches coordinate `scales[a]` (made by coordinate) to axis a of `dataset`, for every axis.
void attach_coordinates(hid_t dataset, const std::vector<hid_t>& scales);

/// True if `path` (e.g. "/level_3") names a link in the file.
bool link_exists(hid_t file, const std::string& path);

/// What `path` in `location` is, for messages: "a dataset", "a group", "a named datatype", or
/// "missing" (no such link, a link into a missing object, or an intermediate group missing).
std::string object_kind(hid_t location, const std::string& path);

/// The class of the values a numeric dataset must hold.
enum class NumberClass { kFloat, kInteger };

/// A dataset opened by open_numeric_dataset: its id, shape and bytes per stored value.
struct NumericDataset {
  Hid dataset;
  std::vector<hsize_t> shape;
  size_t value_bytes = 0;
};

/// Opens the dataset `path` of `location` (a file or group) for reading numbers, after checking
/// everything a read could trip over: the link exists and names a dataset (not a group or a
/// named datatype); its values are of class `numbers` (IEEE floats, or integers), not strings,
/// compounds, enums, arrays, references, opaque or variable-length data; its dataspace is simple
/// (not scalar or null) with `rank` dimensions (any rank when `rank` is negative). Otherwise
/// UsageError with one line naming the object and what it is, e.g. "/level_0/field is a group,
/// not a dataset" or "/model/parameters holds strings, not floating-point numbers"; callers
/// prefix the file. The checked helper every reader of numeric data uses.
NumericDataset open_numeric_dataset(hid_t location, const std::string& path, NumberClass numbers,
                                    int rank);

/// Every value of the numeric dataset `path` of `location` (checked as by open_numeric_dataset),
/// converted to double, row-major; `shape`, when given, receives its shape. UsageError naming the
/// object when it holds more than `max_values` values (checked before allocating) or HDF5 cannot
/// read it (a damaged file). Values are returned as stored: NaN and Inf included.
std::vector<double> read_numeric_dataset(hid_t location, const std::string& path,
                                         NumberClass numbers, int rank, int64_t max_values,
                                         std::vector<hsize_t>* shape = nullptr);

/// The name of an HDF5 type class for messages ("strings", "a compound type", ...).
std::string type_class_description(H5T_class_t type_class);

/// The HDF5 memory type of a C++ arithmetic type.
template <typename T>
hid_t native_type();
template <>
inline hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
inline hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
inline hid_t native_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
inline hid_t native_type<int8_t>() {
  return H5T_NATIVE_INT8;
}

}  // namespace rgflow::h5
