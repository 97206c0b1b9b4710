#include "rgflow/core/hdf5.hpp"

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

Hid open_attribute(hid_t object, const std::string& name) {
  if (RGFLOW_H5(H5Aexists(object, name.c_str())) <= 0) {
    throw UsageError("missing HDF5 attribute '" + name + "'");
  }
  return attribute_id(H5Aopen(object, name.c_str(), H5P_DEFAULT));
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
  Hid type = datatype_id(H5Aget_type(attribute.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER) {
    throw UsageError("HDF5 attribute '" + name + "' is not an integer");
  }
  int64_t value = 0;
  RGFLOW_H5(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value));
  return value;
}

double read_double_attribute(hid_t object, const std::string& name) {
  Hid attribute = open_attribute(object, name);
  Hid type = datatype_id(H5Aget_type(attribute.get()));
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
    throw UsageError("HDF5 attribute '" + name + "' is not a number");
  }
  double value = 0;
  RGFLOW_H5(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value));
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  Hid attribute = open_attribute(object, name);
  Hid type = datatype_id(H5Aget_type(attribute.get()));
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    throw UsageError("HDF5 attribute '" + name + "' is not a fixed-length string");
  }
  const size_t size = H5Tget_size(type.get());
  std::vector<char> buffer(size + 1, '\0');
  RGFLOW_H5(H5Aread(attribute.get(), type.get(), buffer.data()));
  return std::string(buffer.data());
}

bool link_exists(hid_t file, const std::string& path) {
  return RGFLOW_H5(H5Lexists(file, path.c_str(), H5P_DEFAULT)) > 0;
}

}  // namespace rgflow::h5
