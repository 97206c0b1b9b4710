#include "mutations.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

namespace rgflow::mutation {
namespace {

// An HDF5 id closed at scope exit; the mutations use plain HDF5 calls and report failure as
// "does not apply" rather than throwing.
class Id {
 public:
  Id(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  ~Id() {
    if (id_ >= 0) closer_(id_);
  }
  Id(Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

struct DatasetInfo {
  std::string path;
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t value_bytes = 0;
  std::vector<hsize_t> shape;
  bool scalar = false;
};

struct Walk {
  std::vector<std::string> groups{"/"};
  std::vector<DatasetInfo> datasets;
  std::vector<std::pair<std::string, std::string>> attributes;  // object path, attribute name
  std::vector<std::pair<std::string, H5T_class_t>> attribute_classes;
};

herr_t visit_link(hid_t root, const char* name, const H5L_info_t*, void* data) {
  auto* walk = static_cast<Walk*>(data);
  const std::string path = std::string("/") + name;
  Id object(H5Oopen(root, name, H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return 0;
  const H5I_type_t type = H5Iget_type(object.get());
  if (type == H5I_GROUP) {
    walk->groups.push_back(path);
  } else if (type == H5I_DATASET) {
    DatasetInfo info;
    info.path = path;
    Id dtype(H5Dget_type(object.get()), H5Tclose);
    info.type_class = H5Tget_class(dtype.get());
    info.value_bytes = H5Tget_size(dtype.get());
    Id space(H5Dget_space(object.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    info.scalar = rank == 0;
    info.shape.resize(static_cast<size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), info.shape.data(), nullptr);
    walk->datasets.push_back(info);
  }
  return 0;
}

herr_t visit_attribute(hid_t object, const char* name, const H5A_info_t*, void* data) {
  auto* names = static_cast<std::vector<std::pair<std::string, H5T_class_t>>*>(data);
  Id attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Id type(H5Aget_type(attribute.get()), H5Tclose);
  names->emplace_back(name, H5Tget_class(type.get()));
  return 0;
}

Walk walk_file(const std::string& path) {
  Walk walk;
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) return walk;
  H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_NATIVE, visit_link, &walk);
  std::vector<std::string> objects = walk.groups;
  for (const DatasetInfo& d : walk.datasets) objects.push_back(d.path);
  for (const std::string& object_path : objects) {
    Id object(H5Oopen(file.get(), object_path.c_str(), H5P_DEFAULT), H5Oclose);
    std::vector<std::pair<std::string, H5T_class_t>> names;
    H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, visit_attribute, &names);
    for (const auto& [name, type_class] : names) {
      walk.attributes.emplace_back(object_path, name);
      walk.attribute_classes.emplace_back(name, type_class);
    }
  }
  return walk;
}

// Writes attribute `name` of `object_path` anew with the given type, dataspace and bytes.
bool set_attribute(hid_t file, const std::string& object_path, const std::string& name, hid_t type,
                   hid_t space, const void* data) {
  Id object(H5Oopen(file, object_path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return false;
  if (H5Aexists(object.get(), name.c_str()) > 0 && H5Adelete(object.get(), name.c_str()) < 0) {
    return false;
  }
  Id attribute(H5Acreate2(object.get(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
  if (!attribute.ok()) return false;
  return data == nullptr || H5Awrite(attribute.get(), type, data) >= 0;
}

bool set_scalar(hid_t file, const std::string& object, const std::string& name, hid_t type,
                const void* data) {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  return set_attribute(file, object, name, type, space.get(), data);
}

Id fixed_string_type(size_t size) {
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(size, 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  return type;
}

bool set_string(hid_t file, const std::string& object, const std::string& name,
                const std::string& value) {
  Id type = fixed_string_type(value.size() + 1);
  return set_scalar(file, object, name, type.get(), value.c_str());
}

// A compound type {int32 a; double b} for attributes and datasets.
struct Pair {
  int32_t a;
  double b;
};
Id compound_type() {
  Id type(H5Tcreate(H5T_COMPOUND, sizeof(Pair)), H5Tclose);
  H5Tinsert(type.get(), "a", HOFFSET(Pair, a), H5T_NATIVE_INT32);
  H5Tinsert(type.get(), "b", HOFFSET(Pair, b), H5T_NATIVE_DOUBLE);
  return type;
}

void add_attribute_mutations(const std::string& object, const std::string& name,
                             H5T_class_t original, const MutationOptions& options,
                             std::vector<Mutation>& out) {
  const std::string where = "attribute " + object + (object == "/" ? "" : "/") + "@" + name;
  auto add = [&](const std::string& change, std::function<bool(hid_t)> apply) {
    Mutation m;
    m.description = where + ": " + change;
    m.apply = std::move(apply);
    m.must_refuse =
        options.attribute_must_refuse && options.attribute_must_refuse(object, name, change);
    out.push_back(std::move(m));
  };
  add("deleted", [=](hid_t file) {
    Id o(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose);
    return o.ok() && H5Adelete(o.get(), name.c_str()) >= 0;
  });
  const int64_t integers[] = {0,
                              -1,
                              1,
                              2,
                              3,
                              7,
                              63,
                              64,
                              65,
                              1000,
                              int64_t{1} << 31,
                              int64_t{1} << 32,
                              int64_t{1} << 62,
                              std::numeric_limits<int64_t>::max(),
                              std::numeric_limits<int64_t>::min()};
  for (const int64_t value : integers) {
    add("int64 " + std::to_string(value),
        [=](hid_t file) { return set_scalar(file, object, name, H5T_STD_I64LE, &value); });
  }
  {
    const uint64_t value = std::numeric_limits<uint64_t>::max();
    add("uint64 2^64-1",
        [=](hid_t file) { return set_scalar(file, object, name, H5T_STD_U64LE, &value); });
    const int32_t small = 2;
    add("int32 2",
        [=](hid_t file) { return set_scalar(file, object, name, H5T_STD_I32BE, &small); });
    const int8_t tiny = -3;
    add("int8 -3", [=](hid_t file) { return set_scalar(file, object, name, H5T_STD_I8LE, &tiny); });
  }
  const double reals[] = {std::nan(""),
                          std::numeric_limits<double>::infinity(),
                          -std::numeric_limits<double>::infinity(),
                          0.5,
                          -1e300,
                          1e300,
                          0.0};
  for (const double value : reals) {
    add("float64 " + std::to_string(value),
        [=](hid_t file) { return set_scalar(file, object, name, H5T_IEEE_F64LE, &value); });
  }
  {
    const float value = 2.0f;
    add("float32 2",
        [=](hid_t file) { return set_scalar(file, object, name, H5T_IEEE_F32BE, &value); });
  }
  const std::string texts[] = {"",
                               "garbage",
                               "float16",
                               "64",
                               "uniform\nsecond line",
                               std::string(3000, 'x'),
                               std::string("a\0b", 3)};
  for (const std::string& text : texts) {
    add("string of " + std::to_string(text.size()) + " characters",
        [=](hid_t file) { return set_string(file, object, name, text); });
  }
  add("string with space padding, no terminator", [=](hid_t file) {
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), 8);
    H5Tset_strpad(type.get(), H5T_STR_SPACEPAD);
    return set_scalar(file, object, name, type.get(), "uniform ");
  });
  add("variable-length string", [=](hid_t file) {
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    const char* value = "uniform";
    return set_scalar(file, object, name, type.get(), &value);
  });
  add("compound {int32, float64}", [=](hid_t file) {
    Id type = compound_type();
    const Pair value{1, 2.0};
    return set_scalar(file, object, name, type.get(), &value);
  });
  add("int64 array of 3", [=](hid_t file) {
    const hsize_t three = 3;
    Id space(H5Screate_simple(1, &three, nullptr), H5Sclose);
    const int64_t values[3] = {1, 2, 3};
    return set_attribute(file, object, name, H5T_STD_I64LE, space.get(), values);
  });
  add("float64 array of 2x2", [=](hid_t file) {
    const hsize_t dims[2] = {2, 2};
    Id space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    const double values[4] = {1, 2, 3, 4};
    return set_attribute(file, object, name, H5T_IEEE_F64LE, space.get(), values);
  });
  add("string array of 2", [=](hid_t file) {
    const hsize_t two = 2;
    Id space(H5Screate_simple(1, &two, nullptr), H5Sclose);
    Id type = fixed_string_type(8);
    const char values[16] = "uniform\0gamma\0\0";
    return set_attribute(file, object, name, type.get(), space.get(), values);
  });
  add("empty (null dataspace) int64", [=](hid_t file) {
    Id space(H5Screate(H5S_NULL), H5Sclose);
    return set_attribute(file, object, name, H5T_STD_I64LE, space.get(), nullptr);
  });
  add("empty (zero-length array) string", [=](hid_t file) {
    const hsize_t zero = 0;
    Id space(H5Screate_simple(1, &zero, nullptr), H5Sclose);
    Id type = fixed_string_type(8);
    return set_attribute(file, object, name, type.get(), space.get(), nullptr);
  });
  add("enumeration", [=](hid_t file) {
    Id type(H5Tenum_create(H5T_NATIVE_INT), H5Tclose);
    int zero = 0, one = 1;
    H5Tenum_insert(type.get(), "no", &zero);
    H5Tenum_insert(type.get(), "yes", &one);
    return set_scalar(file, object, name, type.get(), &one);
  });
  (void)original;
}

// Replaces the object at `path` by a new dataset of `type` and `shape` (empty shape: scalar),
// filled from `fill` (one value of `memory_type`, repeated) when given.
bool replace_with_dataset(hid_t file, const std::string& path, hid_t type,
                          const std::vector<hsize_t>& shape, bool null_space = false) {
  if (H5Lexists(file, path.c_str(), H5P_DEFAULT) > 0 &&
      H5Ldelete(file, path.c_str(), H5P_DEFAULT) < 0) {
    return false;
  }
  Id space(null_space ? H5Screate(H5S_NULL)
           : shape.empty()
               ? H5Screate(H5S_SCALAR)
               : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
           H5Sclose);
  Id creation(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // Storage with fill values written, so reads of the new dataset see defined values.
  H5Pset_fill_time(creation.get(), H5D_FILL_TIME_ALLOC);
  Id dataset(
      H5Dcreate2(file, path.c_str(), type, space.get(), H5P_DEFAULT, creation.get(), H5P_DEFAULT),
      H5Dclose);
  return dataset.ok();
}

// Same shape, values 0.25 (finite, in any float width).
bool replace_with_floats(hid_t file, const std::string& path, hid_t type,
                         const std::vector<hsize_t>& shape) {
  if (!replace_with_dataset(file, path, type, shape)) return false;
  if (shape.empty()) return true;
  hsize_t count = 1;
  for (const hsize_t extent : shape) count *= extent;
  if (count == 0) return true;
  std::vector<double> values(count, 0.25);
  Id dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  return H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >=
         0;
}

bool write_one_value(hid_t file, const std::string& path, const std::vector<hsize_t>& position,
                     double value) {
  Id dataset(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) return false;
  Id space(H5Dget_space(dataset.get()), H5Sclose);
  const std::vector<hsize_t> ones(position.size(), 1);
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, position.data(), nullptr, ones.data(),
                          nullptr) < 0) {
    return false;
  }
  Id memory(H5Screate_simple(static_cast<int>(ones.size()), ones.data(), nullptr), H5Sclose);
  return H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT,
                  &value) >= 0;
}

void add_dataset_mutations(const DatasetInfo& info, const MutationOptions& options,
                           std::mt19937_64& random, std::vector<Mutation>& out) {
  const std::string path = info.path;
  const bool essential =
      std::find(options.essential_datasets.begin(), options.essential_datasets.end(), path) !=
      options.essential_datasets.end();
  auto add = [&](const std::string& change, std::function<bool(hid_t)> apply, bool refuse) {
    Mutation m;
    m.description = "dataset " + path + ": " + change;
    m.apply = std::move(apply);
    m.must_refuse = essential && refuse;
    out.push_back(std::move(m));
  };
  const std::vector<hsize_t> shape = info.shape;
  add(
      "deleted", [=](hid_t f) { return H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0; }, true);
  add(
      "replaced by a group",
      [=](hid_t f) {
        if (H5Ldelete(f, path.c_str(), H5P_DEFAULT) < 0) return false;
        Id group(H5Gcreate2(f, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
        return group.ok();
      },
      true);
  add(
      "replaced by a dangling soft link",
      [=](hid_t f) {
        return H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0 &&
               H5Lcreate_soft("/nowhere/at/all", f, path.c_str(), H5P_DEFAULT, H5P_DEFAULT) >= 0;
      },
      true);
  add(
      "replaced by a soft link to the root group",
      [=](hid_t f) {
        return H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0 &&
               H5Lcreate_soft("/", f, path.c_str(), H5P_DEFAULT, H5P_DEFAULT) >= 0;
      },
      true);
  add(
      "replaced by a named datatype",
      [=](hid_t f) {
        if (H5Ldelete(f, path.c_str(), H5P_DEFAULT) < 0) return false;
        Id type(H5Tcopy(H5T_NATIVE_INT), H5Tclose);
        return H5Tcommit2(f, path.c_str(), type.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0;
      },
      true);
  const bool is_float = info.type_class == H5T_FLOAT;
  add(
      "int32 values, same shape",
      [=](hid_t f) { return replace_with_dataset(f, path, H5T_STD_I32LE, shape); }, is_float);
  add(
      "uint8 values, same shape",
      [=](hid_t f) { return replace_with_dataset(f, path, H5T_STD_U8LE, shape); }, is_float);
  add(
      "fixed strings, same shape",
      [=](hid_t f) {
        Id type = fixed_string_type(4);
        return replace_with_dataset(f, path, type.get(), shape);
      },
      true);
  add(
      "variable-length strings, same shape",
      [=](hid_t f) {
        Id type(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(type.get(), H5T_VARIABLE);
        return replace_with_dataset(f, path, type.get(), shape);
      },
      true);
  add(
      "compound {int32, float64}, same shape",
      [=](hid_t f) {
        Id type = compound_type();
        return replace_with_dataset(f, path, type.get(), shape);
      },
      true);
  add(
      "array-of-2 float64 values, same shape",
      [=](hid_t f) {
        const hsize_t two = 2;
        Id type(H5Tarray_create2(H5T_IEEE_F64LE, 1, &two), H5Tclose);
        return replace_with_dataset(f, path, type.get(), shape);
      },
      true);
  add(
      "enumeration values, same shape",
      [=](hid_t f) {
        Id type(H5Tenum_create(H5T_NATIVE_INT), H5Tclose);
        int zero = 0;
        H5Tenum_insert(type.get(), "zero", &zero);
        return replace_with_dataset(f, path, type.get(), shape);
      },
      true);
  if (is_float) {
    const hid_t other = info.value_bytes == 4 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
    add(
        std::string(info.value_bytes == 4 ? "float64" : "float32") + " values, same shape",
        [=](hid_t f) { return replace_with_floats(f, path, other, shape); }, true);
    add(
        "16-bit floats, same shape",
        [=](hid_t f) {
          Id type(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
          // IEEE half precision: sign at 15, exponent 10..14 (bias 15), mantissa 0..9.
          if (H5Tset_fields(type.get(), 15, 10, 5, 0, 10) < 0 || H5Tset_size(type.get(), 2) < 0 ||
              H5Tset_ebias(type.get(), 15) < 0) {
            return false;
          }
          return replace_with_floats(f, path, type.get(), shape);
        },
        true);
    add(
        "big-endian floats of the same width, same shape (valid)",
        [=](hid_t f) {
          return replace_with_floats(
              f, path, info.value_bytes == 4 ? H5T_IEEE_F32BE : H5T_IEEE_F64BE, shape);
        },
        false);
  }
  const hid_t same_type =
      is_float ? (info.value_bytes == 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE) : H5T_STD_U8LE;
  auto reshaped = [&](const std::string& change, std::vector<hsize_t> new_shape) {
    add(
        change, [=](hid_t f) { return replace_with_floats(f, path, same_type, new_shape); }, true);
  };
  if (!shape.empty()) {
    hsize_t count = 1;
    for (const hsize_t extent : shape) count *= extent;
    if (shape.size() > 1) reshaped("flattened to 1-D", {count});
    std::vector<hsize_t> more = shape;
    more.push_back(1);
    reshaped("an extra axis of 1", more);
    if (shape.size() > 1) {
      reshaped("the last axis dropped", std::vector<hsize_t>(shape.begin(), shape.end() - 1));
    }
    for (size_t axis = 0; axis < shape.size(); ++axis) {
      std::vector<hsize_t> bigger = shape, smaller = shape, empty = shape;
      bigger[axis] += 1;
      reshaped("axis " + std::to_string(axis) + " one longer", bigger);
      if (shape[axis] > 1) {
        smaller[axis] -= 1;
        reshaped("axis " + std::to_string(axis) + " one shorter", smaller);
      }
      empty[axis] = 0;
      reshaped("axis " + std::to_string(axis) + " empty", empty);
    }
    reshaped("scalar", {});
    add(
        "null dataspace",
        [=](hid_t f) { return replace_with_dataset(f, path, same_type, {}, true); }, true);
  }
  if (is_float && !shape.empty()) {
    hsize_t count = 1;
    for (const hsize_t extent : shape) count *= extent;
    if (count > 0) {
      const double specials[] = {std::nan(""), std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity()};
      const char* names[] = {"NaN", "+Inf", "-Inf"};
      auto place = [&](const std::vector<hsize_t>& position, int which, const std::string& where) {
        const double value = specials[which];
        add(
            std::string(names[which]) + " at " + where,
            [=](hid_t f) { return write_one_value(f, path, position, value); }, true);
      };
      for (int which = 0; which < 3; ++which) {
        place(std::vector<hsize_t>(shape.size(), 0), which, "the first value");
        std::vector<hsize_t> last = shape;
        for (hsize_t& extent : last) extent -= 1;
        place(last, which, "the last value");
        for (int r = 0; r < options.random_values; ++r) {
          std::vector<hsize_t> position(shape.size());
          std::string where = "(";
          for (size_t axis = 0; axis < shape.size(); ++axis) {
            position[axis] = random() % shape[axis];
            where += (axis ? "," : "") + std::to_string(position[axis]);
          }
          place(position, which, where + ")");
        }
      }
      // Finite but huge: a float64 file may hold values beyond float32's range.
      add(
          "1e300 at the first value (overflows float32)",
          [=](hid_t f) {
            return write_one_value(f, path, std::vector<hsize_t>(shape.size(), 0), 1e300);
          },
          info.value_bytes == 4);
    }
  }
}

void add_group_mutations(const std::string& path, const MutationOptions& options,
                         std::vector<Mutation>& out) {
  if (path == "/") return;
  bool essential = false;
  for (const std::string& dataset : options.essential_datasets) {
    essential |= dataset.rfind(path + "/", 0) == 0;
  }
  auto add = [&](const std::string& change, std::function<bool(hid_t)> apply) {
    Mutation m;
    m.description = "group " + path + ": " + change;
    m.apply = std::move(apply);
    m.must_refuse = essential;
    out.push_back(std::move(m));
  };
  add("deleted", [=](hid_t f) { return H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0; });
  add("emptied", [=](hid_t f) {
    if (H5Ldelete(f, path.c_str(), H5P_DEFAULT) < 0) return false;
    Id group(H5Gcreate2(f, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    return group.ok();
  });
  add("replaced by a float64 dataset",
      [=](hid_t f) { return replace_with_floats(f, path, H5T_IEEE_F64LE, {4}); });
  add("replaced by a string dataset", [=](hid_t f) {
    Id type = fixed_string_type(8);
    return replace_with_dataset(f, path, type.get(), {});
  });
}

}  // namespace

std::vector<Mutation> enumerate_mutations(const std::string& path, const MutationOptions& options) {
  std::vector<Mutation> mutations;
  const Walk walk = walk_file(path);
  std::mt19937_64 random(options.seed);
  for (size_t i = 0; i < walk.attributes.size(); ++i) {
    add_attribute_mutations(walk.attributes[i].first, walk.attributes[i].second,
                            walk.attribute_classes[i].second, options, mutations);
  }
  for (const DatasetInfo& info : walk.datasets) {
    add_dataset_mutations(info, options, random, mutations);
  }
  for (const std::string& group : walk.groups) add_group_mutations(group, options, mutations);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path));
  std::vector<int64_t> offsets{0, 1, 8, 96, 511, 512, 2048, size / 2, size - 1};
  for (int t = 0; t < options.truncations; ++t) {
    offsets.push_back(static_cast<int64_t>(random() % static_cast<uint64_t>(size)));
  }
  for (const int64_t offset : offsets) {
    if (offset < 0 || offset >= size) continue;
    Mutation m;
    m.description =
        "truncated to " + std::to_string(offset) + " of " + std::to_string(size) + " bytes";
    m.truncate_to = offset;
    mutations.push_back(std::move(m));
  }
  return mutations;
}

bool make_mutant(const std::string& from, const std::string& to, const Mutation& mutation) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  if (mutation.truncate_to >= 0) {
    return truncate(to.c_str(), static_cast<off_t>(mutation.truncate_to)) == 0;
  }
  hid_t file = H5Fopen(to.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return false;
  const bool applied = mutation.apply(file);
  const bool closed = H5Fclose(file) >= 0;
  H5Eclear2(H5E_DEFAULT);
  return applied && closed;
}

}  // namespace rgflow::mutation
