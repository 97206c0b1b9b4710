#include "rgflow/core/hdf5.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "rgflow/core/error.hpp"

namespace rgflow::h5 {
namespace {

herr_t collect_message(unsigned depth, const H5E_error2_t* entry, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (depth > 3) return 0;  // the innermost frames say what went wrong; the rest is call path
  if (!text->empty()) *text += "; ";
  *text += entry->desc ? entry->desc : "";
  if (entry->func_name) *text += std::string(" (") + entry->func_name + ")";
  return 0;
}

std::string error_stack_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_message, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "no HDF5 error message" : text;
}

}  // namespace

int64_t check(int64_t status, const char* call, const char* file, int line) {
  if (status >= 0) return status;
  std::string message = std::string("HDF5 error in ") + call + " at " +
                        source_location(file, line) + ": " + error_stack_text();
  for (char& c : message) {
    if (c == '\n') c = ' ';  // one line per error
  }
  if (message.find("lock") != std::string::npos) {
    message +=
        " (on file systems without POSIX locks, such as NFS or Lustre, set "
        "HDF5_USE_FILE_LOCKING=FALSE)";
  }
  throw LibraryError(message);
}

void silence_error_printing() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

void Hid::close() {
  if (id_ < 0) return;
  hid_t id = std::exchange(id_, H5I_INVALID_HID);
  RGFLOW_H5(closer_(id));
}

Hid file_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Fclose);
}
Hid group_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Gclose);
}
Hid dataset_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Dclose);
}
Hid dataspace_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Sclose);
}
Hid plist_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Pclose);
}
Hid attribute_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Aclose);
}
Hid datatype_id(hid_t id) {
  return Hid(RGFLOW_H5(id), H5Tclose);
}

Hid open_read_only(const std::string& path, const std::string& purpose) {
  try {
    return file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  } catch (const LibraryError& failure) {
    throw UsageError("cannot open '" + path + "'" + purpose + ": " + failure.what());
  }
}

Hid create_group(hid_t location, const std::string& path) {
  return group_id(H5Gcreate2(location, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
}

Hid simple_space(const std::vector<hsize_t>& shape) {
  return dataspace_id(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
}

namespace {

void write_scalar_attribute(hid_t object, const std::string& name, hid_t type, const void* value) {
  if (RGFLOW_H5(H5Aexists(object, name.c_str())) > 0) {
    RGFLOW_H5(H5Adelete(object, name.c_str()));
  }
  Hid space = dataspace_id(H5Screate(H5S_SCALAR));
  Hid attribute =
      attribute_id(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  RGFLOW_H5(H5Awrite(attribute.get(), type, value));
}

// Opens an attribute that must hold one value: reading a larger one into a scalar would write
// past it, and an empty one has nothing to read.
Hid open_attribute(hid_t object, const std::string& name) {
  if (RGFLOW_H5(H5Aexists(object, name.c_str())) <= 0) {
    throw UsageError("missing HDF5 attribute '" + name + "'");
  }
  Hid attribute = attribute_id(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  Hid space = dataspace_id(H5Aget_space(attribute.get()));
  const int64_t values = RGFLOW_H5(H5Sget_simple_extent_npoints(space.get()));
  if (values != 1) {
    throw UsageError("HDF5 attribute '" + name + "' holds " + std::to_string(values) +
                     " values, not one");
  }
  return attribute;
}

H5T_class_t attribute_class(const Hid& attribute) {
  Hid type = datatype_id(H5Aget_type(attribute.get()));
  return H5Tget_class(type.get());
}

}  // namespace

void write_attribute(hid_t object, const std::string& name, int64_t value) {
  write_scalar_attribute(object, name, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5T_NATIVE_DOUBLE, &value);
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  // Fixed-length, null-terminated UTF-8: readable as a plain str by h5py and shown by h5dump.
  Hid type = datatype_id(H5Tcopy(H5T_C_S1));
  RGFLOW_H5(H5Tset_size(type.get(), value.size() + 1));
  RGFLOW_H5(H5Tset_strpad(type.get(), H5T_STR_NULLTERM));
  RGFLOW_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8));
  write_scalar_attribute(object, name, type.get(), value.c_str());
}

bool has_attribute(hid_t object, const std::string& name) {
  return RGFLOW_H5(H5Aexists(object, name.c_str())) > 0;
}

int64_t read_int_attribute(hid_t object, const std::string& name) {
  Hid attribute = open_attribute(object, name);
  const H5T_class_t type_class = attribute_class(attribute);
  if (type_class != H5T_INTEGER) {
    throw UsageError("HDF5 attribute '" + name + "' holds " + type_class_description(type_class) +
                     ", not an integer");
  }
  int64_t value = 0;
  RGFLOW_H5(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value));
  return value;
}

double read_double_attribute(hid_t object, const std::string& name) {
  Hid attribute = open_attribute(object, name);
  const H5T_class_t type_class = attribute_class(attribute);
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
    throw UsageError("HDF5 attribute '" + name + "' holds " + type_class_description(type_class) +
                     ", not a number");
  }
  double value = 0;
  RGFLOW_H5(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value));
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  Hid attribute = open_attribute(object, name);
  Hid type = datatype_id(H5Aget_type(attribute.get()));
  if (H5Tget_class(type.get()) != H5T_STRING || RGFLOW_H5(H5Tis_variable_str(type.get())) > 0) {
    throw UsageError("HDF5 attribute '" + name + "' is not a fixed-length string");
  }
  const size_t size = static_cast<size_t>(RGFLOW_H5(H5Tget_size(type.get())));
  if (size == 0) throw UsageError("HDF5 attribute '" + name + "' is a string of size 0");
  std::vector<char> buffer(size + 1, '\0');
  RGFLOW_H5(H5Aread(attribute.get(), type.get(), buffer.data()));
  return std::string(buffer.data());
}

namespace {

// The existing coordinate `name` of `group` (checked to have `length` values), or an invalid Hid.
Hid existing_coordinate(hid_t group, const std::string& name, size_t length) {
  if (RGFLOW_H5(H5Lexists(group, name.c_str(), H5P_DEFAULT)) <= 0) return Hid();
  Hid scale = dataset_id(H5Dopen2(group, name.c_str(), H5P_DEFAULT));
  Hid space = dataspace_id(H5Dget_space(scale.get()));
  hsize_t stored = 0;
  if (RGFLOW_H5(H5Sget_simple_extent_ndims(space.get())) != 1 ||
      RGFLOW_H5(H5Sget_simple_extent_dims(space.get(), &stored, nullptr)) != 1 ||
      stored != length || RGFLOW_H5(H5DSis_scale(scale.get())) <= 0) {
    throw std::logic_error("coordinate " + name + " exists, but not as a scale of this length");
  }
  return scale;
}

Hid new_coordinate(hid_t group, const std::string& name, hid_t type, size_t length,
                   const void* values, const std::string& meaning) {
  Hid space = simple_space({static_cast<hsize_t>(length)});
  Hid scale = dataset_id(
      H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (length > 0) RGFLOW_H5(H5Dwrite(scale.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values));
  RGFLOW_H5(H5DSset_scale(scale.get(), name.c_str()));
  write_attribute(scale.get(), "long_name", meaning);
  return scale;
}

}  // namespace

Hid coordinate(hid_t group, const std::string& name, const std::vector<int64_t>& values,
               const std::string& meaning) {
  Hid scale = existing_coordinate(group, name, values.size());
  if (scale.valid()) return scale;
  return new_coordinate(group, name, H5T_STD_I64LE, values.size(), values.data(), meaning);
}

Hid coordinate(hid_t group, const std::string& name, const std::vector<std::string>& values,
               const std::string& meaning) {
  Hid scale = existing_coordinate(group, name, values.size());
  if (scale.valid()) return scale;
  Hid type = datatype_id(H5Tcopy(H5T_C_S1));
  RGFLOW_H5(H5Tset_size(type.get(), H5T_VARIABLE));
  RGFLOW_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8));
  std::vector<const char*> text;
  for (const auto& value : values) text.push_back(value.c_str());
  return new_coordinate(group, name, type.get(), values.size(), text.data(), meaning);
}

std::vector<int64_t> index_range(int64_t first, int64_t count) {
  std::vector<int64_t> values(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (size_t i = 0; i < values.size(); ++i) values[i] = first + static_cast<int64_t>(i);
  return values;
}

std::vector<std::string> hidden_layer_names(size_t count) {
  std::vector<std::string> names;
  for (size_t l = 1; l <= count; ++l) names.push_back("hidden_" + std::to_string(l));
  return names;
}

void attach_coordinates(hid_t dataset, const std::vector<hid_t>& scales) {
  Hid space = dataspace_id(H5Dget_space(dataset));
  std::vector<hsize_t> shape(scales.size());
  if (RGFLOW_H5(H5Sget_simple_extent_ndims(space.get())) != static_cast<int>(scales.size())) {
    throw std::logic_error("attach_coordinates: one coordinate per axis");
  }
  RGFLOW_H5(H5Sget_simple_extent_dims(space.get(), shape.data(), nullptr));
  for (size_t axis = 0; axis < scales.size(); ++axis) {
    Hid scale_space = dataspace_id(H5Dget_space(scales[axis]));
    hsize_t length = 0;
    RGFLOW_H5(H5Sget_simple_extent_dims(scale_space.get(), &length, nullptr));
    if (length != shape[axis]) {
      throw std::logic_error("attach_coordinates: a coordinate of " + std::to_string(length) +
                             " values on an axis of " + std::to_string(shape[axis]));
    }
    RGFLOW_H5(H5DSattach_scale(dataset, scales[axis], static_cast<unsigned>(axis)));
  }
}

bool link_exists(hid_t file, const std::string& path) {
  return RGFLOW_H5(H5Lexists(file, path.c_str(), H5P_DEFAULT)) > 0;
}

std::string object_kind(hid_t location, const std::string& path) {
  // Walk the path one component at a time: H5Lexists fails, rather than answering false, when
  // an intermediate component is missing or is not a group.
  std::string prefix = path.empty() || path[0] != '/' ? "" : "/";
  size_t begin = prefix.size();
  H5I_type_t type = H5I_BADID;
  while (begin <= path.size()) {
    const size_t end = std::min(path.find('/', begin), path.size());
    prefix += path.substr(begin, end - begin);
    begin = end + 1;
    if (prefix.empty() || prefix.back() == '/') continue;  // "a//b" or a trailing slash
    if (type != H5I_BADID && type != H5I_GROUP) return "missing";
    if (RGFLOW_H5(H5Lexists(location, prefix.c_str(), H5P_DEFAULT)) <= 0) return "missing";
    // A soft or external link may point nowhere: the open fails, and the object is missing.
    const hid_t object = H5Oopen(location, prefix.c_str(), H5P_DEFAULT);
    if (object < 0) {
      H5Eclear2(H5E_DEFAULT);
      return "missing";
    }
    type = H5Iget_type(object);
    H5Oclose(object);
    if (begin <= path.size()) prefix += "/";
  }
  switch (type) {
    case H5I_DATASET:
      return "a dataset";
    case H5I_GROUP:
      return "a group";
    case H5I_DATATYPE:
      return "a named datatype";
    default:
      return "missing";
  }
}

std::string type_class_description(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floating-point numbers";
    case H5T_STRING:
      return "strings";
    case H5T_COMPOUND:
      return "a compound type";
    case H5T_ENUM:
      return "an enumeration";
    case H5T_ARRAY:
      return "arrays";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_OPAQUE:
      return "opaque data";
    case H5T_REFERENCE:
      return "references";
    case H5T_BITFIELD:
      return "bit fields";
    case H5T_TIME:
      return "time values";
    default:
      return "values of an unknown type";
  }
}

NumericDataset open_numeric_dataset(hid_t location, const std::string& path, NumberClass numbers,
                                    int rank) {
  const std::string kind = object_kind(location, path);
  if (kind == "missing") throw UsageError(path + " is missing");
  if (kind != "a dataset") throw UsageError(path + " is " + kind + ", not a dataset");
  NumericDataset result;
  result.dataset = dataset_id(H5Dopen2(location, path.c_str(), H5P_DEFAULT));
  {
    Hid type = datatype_id(H5Dget_type(result.dataset.get()));
    const H5T_class_t type_class = H5Tget_class(type.get());
    const H5T_class_t wanted = numbers == NumberClass::kFloat ? H5T_FLOAT : H5T_INTEGER;
    if (type_class != wanted) {
      throw UsageError(path + " holds " + type_class_description(type_class) + ", not " +
                       type_class_description(wanted));
    }
    result.value_bytes = static_cast<size_t>(RGFLOW_H5(H5Tget_size(type.get())));
  }
  Hid space = dataspace_id(H5Dget_space(result.dataset.get()));
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class != H5S_SIMPLE && !(space_class == H5S_SCALAR && rank == 0)) {
    throw UsageError(path + " has no shape (a " +
                     std::string(space_class == H5S_SCALAR ? "scalar" : "null") + " dataspace)");
  }
  const int dims = static_cast<int>(RGFLOW_H5(H5Sget_simple_extent_ndims(space.get())));
  if (rank >= 0 && dims != rank) {
    throw UsageError(path + " has " + std::to_string(dims) + " dimension(s), not " +
                     std::to_string(rank));
  }
  result.shape.resize(static_cast<size_t>(dims));
  RGFLOW_H5(H5Sget_simple_extent_dims(space.get(), result.shape.data(), nullptr));
  return result;
}

std::vector<double> read_numeric_dataset(hid_t location, const std::string& path,
                                         NumberClass numbers, int rank, int64_t max_values,
                                         std::vector<hsize_t>* shape) {
  const NumericDataset dataset = open_numeric_dataset(location, path, numbers, rank);
  // The product is formed in double: the extents of a damaged file may overflow an integer.
  double count = 1;
  for (const hsize_t extent : dataset.shape) count *= static_cast<double>(extent);
  if (count > static_cast<double>(max_values)) {
    char shown[48];
    std::snprintf(shown, sizeof shown, "%.0f", count);
    throw UsageError(path + " holds " + shown + " values, more than the " +
                     std::to_string(max_values) + " expected");
  }
  std::vector<double> values(static_cast<size_t>(count));
  if (!values.empty()) {
    try {
      RGFLOW_H5(H5Dread(dataset.dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        values.data()));
    } catch (const LibraryError& failure) {
      throw UsageError(path + " cannot be read: " + failure.what());
    }
  }
  if (shape != nullptr) *shape = dataset.shape;
  return values;
}

}  // namespace rgflow::h5
