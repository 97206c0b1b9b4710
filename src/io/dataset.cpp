#include "rgflow/io/dataset.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <stdexcept>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <optional>
#include <sstream>
#include <type_traits>

#include "rgflow/core/error.hpp"
#include "rgflow/core/progress.hpp"

namespace rgflow::io {
namespace {

std::string level_path(int level) {
  return "/level_" + std::to_string(level);
}
std::string field_path(int level) {
  return level_path(level) + "/field";
}

hid_t file_type(const DatasetSpec& spec, int level) {
  if (spec.level_holds_spins(level)) return H5T_STD_I8LE;
  return spec.dtype == "float64" ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
}

constexpr const char* kTauMethod =
    "integrated autocorrelation time tau_int = 1/2 + sum_{t=1}^{W} rho(t) of the series of |m| "
    "and of the energy per site measured after every sweep between samples (sweeps 1.. of the "
    "chain after sample 0, of the run that wrote the file: after -resume or -extend, of that "
    "run's sweeps), Sokal's self-consistent window: the "
    "smallest W >= 5 tau_int(W); in sweeps";

// File shape of one level: (samples, L_k, ..., L_k).
std::vector<hsize_t> level_shape(const DatasetSpec& spec, int level) {
  std::vector<hsize_t> shape{static_cast<hsize_t>(spec.samples)};
  for (int axis = 0; axis < spec.geometry.dim; ++axis) {
    shape.push_back(static_cast<hsize_t>(spec.geometry.level_side(level)));
  }
  return shape;
}

// Chunks hold whole samples (up to about 1 MiB of them, so small levels are not stored in tiny
// chunks); a sample larger than 64 MiB is cut along axis 0 instead, below HDF5's 4 GiB limit.
std::vector<hsize_t> chunk_shape(const DatasetSpec& spec, int level) {
  std::vector<hsize_t> chunk = level_shape(spec, level);
  const double sample_bytes =
      static_cast<double>(spec.geometry.level_sites(level)) * spec.level_value_bytes(level);
  const double target = 1 << 20, largest = 64.0 * (1 << 20);
  if (sample_bytes <= largest) {
    chunk[0] = static_cast<hsize_t>(std::clamp<double>(std::floor(target / sample_bytes), 1,
                                                       static_cast<double>(spec.samples)));
  } else {
    chunk[0] = 1;
    const double rows = std::floor(largest / (sample_bytes / static_cast<double>(chunk[1])));
    chunk[1] = static_cast<hsize_t>(std::max(1.0, rows));
  }
  return chunk;
}

std::string axes_description(int dim) {
  std::string axes = "sample";
  for (int axis = 0; axis < dim; ++axis) axes += ",x" + std::to_string(axis);
  return axes;
}

// A file access property list for the MPI-IO driver on `comm`, metadata reads and writes
// collective. Local (a property list only; the open that uses it is collective over `comm`).
h5::Hid mpio_access(const Comm& comm) {
  h5::Hid access = h5::plist_id(H5Pcreate(H5P_FILE_ACCESS));
  RGFLOW_H5(H5Pset_fapl_mpio(access.get(), comm.get(), MPI_INFO_NULL));
  // Metadata reads by all ranks at once become one read and a broadcast.
  RGFLOW_H5(H5Pset_all_coll_metadata_ops(access.get(), true));
  RGFLOW_H5(H5Pset_coll_metadata_write(access.get(), true));
  return access;
}

// The root attributes of `spec`. HDF5 metadata work on `file`, created by rank 0 alone (serial).
void write_spec_attributes(hid_t file, const DatasetSpec& spec) {
  using h5::write_attribute;
  write_attribute(file, "format", std::string(kDatasetFormat));
  write_attribute(file, "schema_version", kDatasetSchemaVersion);
  write_attribute(file, "rgflow_version", std::string(RGFLOW_VERSION));
  write_attribute(file, "created", spec.created.empty() ? utc_timestamp() : spec.created);
  write_attribute(file, "command_line", spec.command_line);
  write_attribute(file, "seed", static_cast<int64_t>(spec.seed));
  write_attribute(file, "d", static_cast<int64_t>(spec.geometry.dim));
  write_attribute(file, "L", spec.geometry.side);
  write_attribute(file, "b", spec.geometry.block_side);
  write_attribute(file, "levels", static_cast<int64_t>(spec.geometry.levels));
  write_attribute(file, "n_samples", spec.samples);
  write_attribute(file, "field", spec.field);
  const bool ising = spec.field == "ising";
  write_attribute(file, "distribution", ising ? std::string("none") : spec.distribution.name());
  write_attribute(file, "distribution_parameters",
                  !ising && spec.distribution.kind == field::DistributionKind::kGamma
                      ? "shape=" + std::to_string(spec.distribution.gamma_shape)
                      : std::string("none"));
  if (!ising && spec.distribution.kind == field::DistributionKind::kGamma) {
    write_attribute(file, "gamma_shape", spec.distribution.gamma_shape);
  }
  if (ising) {
    write_attribute(file, "beta", spec.ising.beta);
    write_attribute(file, "thermalize", spec.ising.thermalize);
    write_attribute(file, "sweeps_between", spec.ising.sweeps_between);
    write_attribute(file, "update", spec.ising.update);
    write_attribute(file, "update_description", ising_update_description(spec.ising.update));
    write_attribute(file, "tau_int_abs_m", static_cast<double>(NAN));
    write_attribute(file, "tau_int_energy", static_cast<double>(NAN));
    write_attribute(file, "tau_int_series_length", int64_t{0});
    write_attribute(file, "tau_int_method", std::string(kTauMethod));
    if (spec.rg_map == "majority") {
      write_attribute(file, "majority_tie",
                      std::string("a tied block (even b) is +1 when the top bit of lane I mod 4 of "
                                  "philox((I/4 lo, I/4 hi | 2 << 24, sample, level)) is 0, I the "
                                  "block's global row-major index at the coarse level"));
    }
  } else {
    write_attribute(file, "standardised", std::string("mean 0, variance 1"));
  }
  write_attribute(file, "rg_map", spec.rg_map);
  write_attribute(file, "scaling_dimension", spec.scaling_dimension);
  write_attribute(file, "block_map_scale",
                  std::pow(static_cast<double>(spec.geometry.block_side), -spec.scaling_dimension));
  write_attribute(file, "dtype", spec.dtype);
  write_attribute(file, "rng",
                  ising ? std::string("philox4x32-10; key (seed lo, seed hi); site g of sweep t "
                                      "before sample s takes the 16-bit half (g/2) mod 2 of lane "
                                      "(g/4) mod 4 of counter (g/16 lo, g/16 hi | 1 << 24, s, "
                                      "2 t + colour), and on a tie the same half with tag 6; "
                                      "Swendsen-Wang: bond q = d g + axis active when its word "
                                      "is below the threshold of 1 - exp(-2 beta), the word's "
                                      "leading 16 bits the half q mod 2 of lane (q/2) mod 4 of "
                                      "counter (q/8 lo, q/8 hi | 3 << 24, s, t), its trailing 16 "
                                      "bits (read on a tie) the same half with tag 8; a cluster "
                                      "flipped when bit r mod 128 of counter (r/128 lo, r/128 hi "
                                      "| 7 << 24, s, t) is 1 (bit b of word b/32), r its smallest "
                                      "site (docs/science.md section 8.1)")
                        : std::string("philox4x32-10; key (seed lo, seed hi); counter "
                                      "(site/4 lo, site/4 hi, sample, 0); site takes word "
                                      "site mod 4"));
  write_attribute(file, "complete", int64_t{0});
}

// Names the axes of a level's field for netCDF readers (xarray): coordinates `sample` (0..S-1) and
// `x0`, `x1`, .. (site coordinates 0..L_k-1 at the level), in the level's group. HDF5 metadata
// work, serial (rank 0 alone, at creation).
void attach_level_coordinates(hid_t group, hid_t field, const DatasetSpec& spec, int level) {
  std::vector<h5::Hid> scales;
  scales.push_back(
      h5::coordinate(group, "sample", h5::index_range(0, spec.samples), "sample index"));
  const std::vector<int64_t> sites = h5::index_range(0, spec.geometry.level_side(level));
  for (int axis = 0; axis < spec.geometry.dim; ++axis) {
    scales.push_back(h5::coordinate(group, "x" + std::to_string(axis), sites,
                                    "site coordinate along axis " + std::to_string(axis)));
  }
  std::vector<hid_t> ids;
  for (const auto& scale : scales) ids.push_back(scale.get());
  h5::attach_coordinates(field, ids);
}

// /checksums: (levels + 1) x samples uint64, 0 until a sample is written (include/rgflow/io/
// checksum.hpp); allocated at creation like the fields, so a parallel write never allocates.
// HDF5 metadata work, serial (rank 0 alone, at creation).
void create_checksums(hid_t file, const DatasetSpec& spec) {
  h5::Hid creation = h5::plist_id(H5Pcreate(H5P_DATASET_CREATE));
  RGFLOW_H5(H5Pset_alloc_time(creation.get(), H5D_ALLOC_TIME_EARLY));
  RGFLOW_H5(H5Pset_fill_time(creation.get(), H5D_FILL_TIME_ALLOC));
  h5::Hid space = h5::simple_space(
      {static_cast<hsize_t>(spec.geometry.levels + 1), static_cast<hsize_t>(spec.samples)});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(file, kChecksumsPath, H5T_STD_U64LE, space.get(),
                                              H5P_DEFAULT, creation.get(), H5P_DEFAULT));
  h5::write_attribute(dataset.get(), "axes", std::string("level,sample"));
  h5::write_attribute(dataset.get(), "algorithm", std::string(kChecksumAlgorithm));
  // Named axes for netCDF readers: a root `level` coordinate and the root `sample` one.
  const h5::Hid level =
      h5::coordinate(file, "level", h5::index_range(0, spec.geometry.levels + 1), "level index");
  const h5::Hid sample = h5::dataset_id(H5Dopen2(file, "sample", H5P_DEFAULT));
  h5::attach_coordinates(dataset.get(), {level.get(), sample.get()});
}

// Builds the whole layout of a new dataset file: attributes, every level's field dataset
// (storage allocated now, no fill) and the completion marks (filled with 0). HDF5 metadata work,
// serial (rank 0 alone, at creation).
void create_structure(hid_t file, const DatasetSpec& spec) {
  write_spec_attributes(file, spec);
  for (int level = 0; level <= spec.geometry.levels; ++level) {
    h5::Hid group = h5::create_group(file, level_path(level));
    h5::write_attribute(group.get(), "level", static_cast<int64_t>(level));
    h5::write_attribute(group.get(), "L_k", spec.geometry.level_side(level));
    h5::write_attribute(group.get(), "scale_factor",
                        std::pow(static_cast<double>(spec.geometry.block_side), level));
    h5::Hid creation = h5::plist_id(H5Pcreate(H5P_DATASET_CREATE));
    const auto chunk = chunk_shape(spec, level);
    RGFLOW_H5(H5Pset_chunk(creation.get(), static_cast<int>(chunk.size()), chunk.data()));
    // Parallel HDF5 allocates storage at creation; writing fill values there would write the
    // whole file twice.
    RGFLOW_H5(H5Pset_fill_time(creation.get(), H5D_FILL_TIME_NEVER));
    RGFLOW_H5(H5Pset_alloc_time(creation.get(), H5D_ALLOC_TIME_EARLY));
    h5::Hid space = h5::simple_space(level_shape(spec, level));
    h5::Hid dataset =
        h5::dataset_id(H5Dcreate2(file, field_path(level).c_str(), file_type(spec, level),
                                  space.get(), H5P_DEFAULT, creation.get(), H5P_DEFAULT));
    h5::write_attribute(dataset.get(), "axes", axes_description(spec.geometry.dim));
    attach_level_coordinates(group.get(), dataset.get(), spec, level);
  }
  {
    h5::Hid creation = h5::plist_id(H5Pcreate(H5P_DATASET_CREATE));
    RGFLOW_H5(H5Pset_alloc_time(creation.get(), H5D_ALLOC_TIME_EARLY));
    RGFLOW_H5(H5Pset_fill_time(creation.get(), H5D_FILL_TIME_ALLOC));
    h5::Hid space = h5::simple_space({static_cast<hsize_t>(spec.samples)});
    h5::Hid dataset = h5::dataset_id(H5Dcreate2(file, "/sample_complete", H5T_STD_U8LE, space.get(),
                                                H5P_DEFAULT, creation.get(), H5P_DEFAULT));
    h5::write_attribute(dataset.get(), "meaning",
                        std::string("1 once every level of the sample is written (for -resume)"));
    const h5::Hid sample =
        h5::coordinate(file, "sample", h5::index_range(0, spec.samples), "sample index");
    h5::attach_coordinates(dataset.get(), {sample.get()});
  }
  create_checksums(file, spec);
}

// Allocates every block of the file at `path` up to its current size, so that writes into it
// cannot fail for lack of space. File systems without fallocate are left as they are.
void reserve_space(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw LibraryError("cannot read the size of '" + path + "': " + std::strerror(errno));
  }
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) throw LibraryError("cannot open '" + path + "': " + std::strerror(errno));
  const int status = fallocate(fd, 0, 0, info.st_size);
  const int reason = errno;
  ::close(fd);
  if (status != 0 && reason != EOPNOTSUPP && reason != ENOSYS) {
    throw LibraryError("reserving " + std::to_string(info.st_size) +
                       " bytes: " + std::strerror(reason));
  }
}

// More than the file of `spec` will take: its data, its completion marks, its coordinates (8 bytes
// per sample and site coordinate, per level and at the root) and room for the metadata
// (attributes, groups and the chunk indexes, far below 1 KiB per MiB of data).
int64_t file_bytes_bound(const DatasetSpec& spec) {
  int64_t data = 0, coordinates = 8 * spec.samples;
  for (int level = 0; level <= spec.geometry.levels; ++level) {
    data += spec.samples * spec.geometry.level_sites(level) * spec.level_value_bytes(level);
    coordinates += 8 * (spec.samples + spec.geometry.dim * spec.geometry.level_side(level));
  }
  const int64_t checksums = (spec.geometry.levels + 1) * spec.samples * 8;
  coordinates += 8 * (spec.geometry.levels + 1);
  return data + spec.samples + checksums + coordinates + data / 1024 + (int64_t{1} << 20);
}

// Reserves `bytes` under `path` and gives them back: HDF5 cannot get through a failed write
// (a file whose close failed crashes the library's clean-up at exit), so the room it needs is
// checked first by an allocation that fails harmlessly. Leaves no file if the room is missing.
void check_room(const std::string& path, int64_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw LibraryError("cannot create '" + path + "': " + std::strerror(errno));
  const int status = fallocate(fd, 0, 0, bytes);
  const int reason = errno;
  ::close(fd);
  if (status != 0 && reason != EOPNOTSUPP && reason != ENOSYS) {
    ::unlink(path.c_str());
    throw LibraryError("reserving " + std::to_string(bytes) + " bytes: " + std::strerror(reason));
  }
}

// The file and memory dataspaces of samples [first_sample, first_sample + count) of a level on
// `box`: a hyperslab of the file, or nothing on both sides when count is 0 (a rank that takes
// part in a collective transfer without data).
std::pair<h5::Hid, h5::Hid> sample_box_spaces(hid_t dataset, int64_t first_sample, int64_t count,
                                              const lattice::Box& box) {
  h5::Hid file_space = h5::dataspace_id(H5Dget_space(dataset));
  std::vector<hsize_t> start{static_cast<hsize_t>(first_sample)};
  std::vector<hsize_t> extent{static_cast<hsize_t>(count)};
  for (int axis = 0; axis < box.dim; ++axis) {
    start.push_back(static_cast<hsize_t>(box.begin[static_cast<size_t>(axis)]));
    extent.push_back(static_cast<hsize_t>(box.extent[static_cast<size_t>(axis)]));
  }
  h5::Hid memory_space = h5::simple_space(extent);
  if (count > 0) {
    RGFLOW_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                  extent.data(), nullptr));
  } else {
    RGFLOW_H5(H5Sselect_none(file_space.get()));
    RGFLOW_H5(H5Sselect_none(memory_space.get()));
  }
  return {std::move(file_space), std::move(memory_space)};
}

}  // namespace

int64_t dtype_bytes(const std::string& dtype) {
  return dtype == "float64" ? 8 : 4;
}

std::string DatasetSpec::difference(const DatasetSpec& other) const {
  auto differs = [](const std::string& what, const auto& mine, const auto& theirs) {
    std::ostringstream text;
    text << what << " " << theirs << " (this run: " << mine << ")";
    return text.str();
  };
  if (geometry.dim != other.geometry.dim) return differs("-d", geometry.dim, other.geometry.dim);
  if (geometry.side != other.geometry.side)
    return differs("-L", geometry.side, other.geometry.side);
  if (geometry.block_side != other.geometry.block_side) {
    return differs("-b", geometry.block_side, other.geometry.block_side);
  }
  if (geometry.levels != other.geometry.levels) {
    return differs("-levels", geometry.levels, other.geometry.levels);
  }
  if (samples != other.samples) return differs("-samples", samples, other.samples);
  if (seed != other.seed) return differs("-seed", seed, other.seed);
  if (field != other.field) return differs("-field", field, other.field);
  if (rg_map != other.rg_map) return differs("-rg_map", rg_map, other.rg_map);
  if (field == "ising") {
    if (ising.beta != other.ising.beta) return differs("-beta", ising.beta, other.ising.beta);
    if (ising.thermalize != other.ising.thermalize) {
      return differs("-thermalize", ising.thermalize, other.ising.thermalize);
    }
    if (ising.sweeps_between != other.ising.sweeps_between) {
      return differs("-sweeps_between", ising.sweeps_between, other.ising.sweeps_between);
    }
    if (ising.update != other.ising.update) {
      return differs("-update", ising.update, other.ising.update);
    }
  } else if (distribution.kind != other.distribution.kind) {
    return differs("-distribution", distribution.name(), other.distribution.name());
  }
  if (field != "ising" && distribution.kind == field::DistributionKind::kGamma &&
      distribution.gamma_shape != other.distribution.gamma_shape) {
    return differs("-gamma_shape", distribution.gamma_shape, other.distribution.gamma_shape);
  }
  if (rg_map == "block_sum" && scaling_dimension != other.scaling_dimension) {
    return differs("-scaling_dimension", scaling_dimension, other.scaling_dimension);
  }
  if (dtype != other.dtype) return differs("-dtype", dtype, other.dtype);
  return "";
}

bool DatasetSpec::level_holds_spins(int level) const {
  return field == "ising" && (level == 0 || rg_map != "block_sum");
}

int64_t DatasetSpec::level_value_bytes(int level) const {
  return level_holds_spins(level) ? 1 : dtype_bytes(dtype);
}

const std::vector<std::string>& ising_update_names() {
  static const std::vector<std::string> names{"heat_bath", "swendsen_wang",
                                              "swendsen_wang_heat_bath"};
  return names;
}

std::string ising_update_description(const std::string& update) {
  const std::string start = ", cold start (all +1)";
  if (update == "heat_bath") return "checkerboard heat-bath (colour 0 then 1)" + start;
  if (update == "swendsen_wang") return "Swendsen-Wang (bonds, clusters, fair flips)" + start;
  return "one Swendsen-Wang sweep, then one checkerboard heat-bath sweep, per sweep" + start;
}

const std::vector<std::string>& rg_map_names() {
  static const std::vector<std::string> names{"block_sum", "majority", "decimation"};
  return names;
}

DatasetWriter::DatasetWriter(const Comm& comm, h5::Hid file, const DatasetSpec& spec,
                             bool collective)
    : comm_(&comm), file_(std::move(file)), spec_(spec), collective_(collective) {
  transfer_ = h5::plist_id(H5Pcreate(H5P_DATASET_XFER));
  RGFLOW_H5(
      H5Pset_dxpl_mpio(transfer_.get(), collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT));
  collective_transfer_ = h5::plist_id(H5Pcreate(H5P_DATASET_XFER));
  RGFLOW_H5(H5Pset_dxpl_mpio(collective_transfer_.get(), H5FD_MPIO_COLLECTIVE));
}

DatasetWriter DatasetWriter::create(const Comm& comm, const std::string& path,
                                    const DatasetSpec& spec, bool collective) {
  // Why rank 0 creates the file alone, serially, and reserves its blocks before any rank opens
  // it: a parallel flush or close whose writes fail (a full disk) on some ranks only leaves the
  // ranks in different collectives inside HDF5 (a rank whose write failed skips the barrier of
  // the metadata sync point and goes on to MPI_File_close's barrier, while the others wait in
  // the sync point), and no agreement afterwards can reach them: the job hangs. A serial
  // creation fails on rank 0 alone, without collectives, and is agreed on below (the room is
  // checked before HDF5 writes anything); once the file's blocks are reserved, the parallel
  // writes that follow cannot run out of space. (Without the
  // reservation a write into a full disk can also come back short yet reported as complete.)
  comm.on_root<LibraryError>([&] {
    check_room(path, file_bytes_bound(spec));
    h5::Hid file = h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    create_structure(file.get(), spec);
    file.close();
    reserve_space(path);
  });
  return open_parallel(comm, path, spec, collective);
}

DatasetWriter DatasetWriter::reopen(const Comm& comm, const std::string& path,
                                    const DatasetSpec& spec, bool collective) {
  // Read the stored spec serially on rank 0 first: a damaged partial file must give a clean
  // message on every rank, not a failure inside a collective open.
  comm.on_root([&] {
    std::optional<DatasetReader> stored;
    try {
      stored.emplace(path);
    } catch (const std::exception& failure) {
      throw UsageError("cannot resume from '" + path + "': " + failure.what() +
                       " (use -force to start over)");
    }
    const std::string difference = spec.difference(stored->spec());
    if (!difference.empty()) {
      throw UsageError("the partial output '" + path + "' was made with " + difference +
                       "; use -force to start over");
    }
    if (!stored->has_checksums()) {
      throw UsageError("the partial output '" + path + "' was made by an rgflow without " +
                       kChecksumsPath + "; use -force to start over");
    }
  });
  // A run that failed for lack of space may have left holes: reserve them now (see create).
  comm.on_root<LibraryError>([&] { reserve_space(path); });
  return open_parallel(comm, path, spec, collective);
}

DatasetWriter DatasetWriter::open_parallel(const Comm& comm, const std::string& path,
                                           const DatasetSpec& spec, bool collective) {
  h5::Hid access = mpio_access(comm);
  DatasetWriter writer(comm, h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, access.get())), spec,
                       collective);
  writer.open_datasets();
  return writer;
}

void DatasetWriter::open_datasets() {
  levels_.clear();
  for (int level = 0; level <= spec_.geometry.levels; ++level) {
    levels_.push_back(
        h5::dataset_id(H5Dopen2(file_.get(), field_path(level).c_str(), H5P_DEFAULT)));
  }
  completion_ = h5::dataset_id(H5Dopen2(file_.get(), "/sample_complete", H5P_DEFAULT));
  checksums_ = h5::dataset_id(H5Dopen2(file_.get(), kChecksumsPath, H5P_DEFAULT));
}

std::vector<uint8_t> DatasetWriter::completed_samples() const {
  std::vector<uint8_t> done(static_cast<size_t>(spec_.samples));
  RGFLOW_H5(H5Dread(completion_.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL,
                    collective_transfer_.get(), done.data()));
  return done;
}

template <typename T>
void DatasetWriter::write(int level, int64_t first_sample, int64_t count, const lattice::Box& box,
                          const T* data) {
  if (!collective_ && count == 0) return;
  const hid_t dataset = levels_.at(static_cast<size_t>(level)).get();
  const auto [file_space, memory_space] = sample_box_spaces(dataset, first_sample, count, box);
  RGFLOW_H5(H5Dwrite(dataset, h5::native_type<T>(), memory_space.get(), file_space.get(),
                     transfer_.get(), data));
}

void DatasetWriter::read_spins(int64_t sample, const lattice::Box& box, int8_t* out) const {
  if (!spec_.level_holds_spins(0)) throw std::logic_error("read_spins: level 0 holds no spins");
  const auto [file_space, memory_space] =
      sample_box_spaces(levels_.at(0).get(), sample, box.size() > 0 ? 1 : 0, box);
  RGFLOW_H5(H5Dread(levels_.at(0).get(), H5T_NATIVE_INT8, memory_space.get(), file_space.get(),
                    collective_transfer_.get(), out));
}

uint64_t DatasetWriter::stored_checksum(int level, int64_t sample) const {
  h5::Hid file_space = h5::dataspace_id(H5Dget_space(checksums_.get()));
  const hsize_t start[2] = {static_cast<hsize_t>(level), static_cast<hsize_t>(sample)};
  const hsize_t one[2] = {1, 1};
  RGFLOW_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, one, nullptr));
  h5::Hid memory_space = h5::simple_space({1});
  uint64_t checksum = 0;
  RGFLOW_H5(H5Dread(checksums_.get(), H5T_NATIVE_UINT64, memory_space.get(), file_space.get(),
                    collective_transfer_.get(), &checksum));
  return checksum;
}

void DatasetWriter::mark_complete(const Comm& group, int64_t first_sample, int64_t count,
                                  const std::vector<uint64_t>& checksums) {
  // Every rank of the group has returned from its data writes once all pass the barrier, so the
  // marks never get ahead of the data they vouch for.
  group.barrier();
  if (!collective_ && count == 0) return;
  const int rows = spec_.geometry.levels + 1;
  if (count > 0 && checksums.size() != static_cast<size_t>(rows * count)) {
    throw std::logic_error("mark_complete: checksums of the wrong size");
  }
  // The checksums first: a sample marked complete always has them.
  {
    h5::Hid file_space = h5::dataspace_id(H5Dget_space(checksums_.get()));
    const hsize_t start[2] = {0, static_cast<hsize_t>(first_sample)};
    const hsize_t extent[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(count)};
    const hsize_t memory_extent[2] = {static_cast<hsize_t>(rows), std::max<hsize_t>(extent[1], 1)};
    h5::Hid memory_space = h5::simple_space({memory_extent[0], memory_extent[1]});
    std::vector<uint64_t> zeros;
    const uint64_t* data = checksums.data();
    if (count > 0) {
      RGFLOW_H5(
          H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr));
    } else {
      RGFLOW_H5(H5Sselect_none(file_space.get()));
      RGFLOW_H5(H5Sselect_none(memory_space.get()));
      zeros.assign(static_cast<size_t>(rows), 0);
      data = zeros.data();
    }
    RGFLOW_H5(H5Dwrite(checksums_.get(), H5T_NATIVE_UINT64, memory_space.get(), file_space.get(),
                       transfer_.get(), data));
  }
  const std::vector<uint8_t> ones(static_cast<size_t>(std::max<int64_t>(count, 1)), 1);
  h5::Hid file_space = h5::dataspace_id(H5Dget_space(completion_.get()));
  const hsize_t start = static_cast<hsize_t>(first_sample), extent = static_cast<hsize_t>(count);
  h5::Hid memory_space = h5::simple_space({std::max<hsize_t>(extent, 1)});
  if (count > 0) {
    RGFLOW_H5(
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &extent, nullptr));
  } else {
    RGFLOW_H5(H5Sselect_none(file_space.get()));
    RGFLOW_H5(H5Sselect_none(memory_space.get()));
  }
  RGFLOW_H5(H5Dwrite(completion_.get(), H5T_NATIVE_UINT8, memory_space.get(), file_space.get(),
                     transfer_.get(), ones.data()));
}

void DatasetWriter::write_autocorrelation(double abs_magnetisation, double energy,
                                          int64_t series_length) {
  h5::write_attribute(file_.get(), "tau_int_abs_m", abs_magnetisation);
  h5::write_attribute(file_.get(), "tau_int_energy", energy);
  h5::write_attribute(file_.get(), "tau_int_series_length", series_length);
}

void DatasetWriter::finish() {
  h5::write_attribute(file_.get(), "complete", int64_t{1});
  levels_.clear();
  completion_ = h5::Hid();
  checksums_ = h5::Hid();
  file_.close();
}

template void DatasetWriter::write<float>(int, int64_t, int64_t, const lattice::Box&, const float*);
template void DatasetWriter::write<double>(int, int64_t, int64_t, const lattice::Box&,
                                           const double*);
template void DatasetWriter::write<int8_t>(int, int64_t, int64_t, const lattice::Box&,
                                           const int8_t*);

DatasetReader::DatasetReader(const std::string& path) : DatasetReader(path, nullptr) {}

DatasetReader::DatasetReader(const std::string& path, const Comm& comm)
    : DatasetReader(path, &comm) {}

DatasetReader::DatasetReader(const std::string& path, const Comm* comm) : path_(path) {
  // Checked by every rank before the open: a collective open must not fail on some ranks only.
  struct stat info;
  if (stat(path.c_str(), &info) != 0) throw UsageError("dataset '" + path + "' does not exist");
  if (S_ISDIR(info.st_mode)) throw UsageError("dataset '" + path + "' is a folder, not a file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw UsageError("'" + path + "' is not an HDF5 file");
  }
  if (comm != nullptr) {
    const h5::Hid access = mpio_access(*comm);
    try {
      file_ = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
    } catch (const LibraryError& failure) {
      throw UsageError("cannot open '" + path + "': " + failure.what());
    }
  } else {
    file_ = h5::open_read_only(path);
  }
  const hid_t file = file_.get();
  // Whatever the file holds, reading it ends in a valid reader or one UsageError naming the file:
  // HDF5's own failures on a damaged file (LibraryError) included.
  try {
    bool is_dataset = false;
    try {
      is_dataset = h5::has_attribute(file, "format") &&
                   h5::read_string_attribute(file, "format") == kDatasetFormat;
    } catch (const UsageError&) {
    }
    if (!is_dataset) {
      throw UsageError("'" + path + "' is not an rgflow dataset (no format attribute '" +
                       kDatasetFormat + "')");
    }
    int64_t version = 0;
    try {
      version = h5::read_int_attribute(file, "schema_version");
    } catch (const UsageError& failure) {
      throw UsageError("'" + path + "' is a malformed rgflow dataset: " + failure.what());
    }
    if (version != kDatasetSchemaVersion) {
      throw UsageError("'" + path + "' has dataset schema version " + std::to_string(version) +
                       "; this rgflow reads version " + std::to_string(kDatasetSchemaVersion));
    }
    try {
      read_spec();
      check_layout();
    } catch (const std::exception& failure) {
      if (dynamic_cast<const UsageError*>(&failure) == nullptr &&
          dynamic_cast<const LibraryError*>(&failure) == nullptr) {
        throw;
      }
      throw UsageError("'" + path + "' is a malformed rgflow dataset: " + failure.what());
    }
  } catch (const LibraryError& failure) {
    throw UsageError("'" + path + "' cannot be read as an rgflow dataset: " + failure.what());
  }
}

namespace {

// A name read from the file, safe to print on one line.
std::string printable(const std::string& text) {
  std::string shown;
  for (const char c : text.substr(0, 64)) {
    shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  return "'" + shown + (text.size() > 64 ? "...'" : "'");
}

}  // namespace

void DatasetReader::read_spec() {
  const hid_t file = file_.get();
  auto integer_in = [&](const char* name, int64_t low, int64_t high) {
    const int64_t value = h5::read_int_attribute(file, name);
    if (value < low || value > high) {
      throw UsageError("attribute " + std::string(name) + " is " + std::to_string(value) +
                       ", outside " + std::to_string(low) + ".." + std::to_string(high));
    }
    return value;
  };
  auto finite = [&](const char* name) {
    const double value = h5::read_double_attribute(file, name);
    if (!std::isfinite(value)) {
      throw UsageError("attribute " + std::string(name) + " is not a finite number");
    }
    return value;
  };
  auto& g = spec_.geometry;
  g.dim = static_cast<int>(integer_in("d", 1, lattice::kMaxDim));
  g.side = integer_in("L", 1, INT64_MAX);
  g.block_side = integer_in("b", 2, INT64_MAX);
  g.levels = static_cast<int>(integer_in("levels", 0, 62));
  spec_.samples = integer_in("n_samples", 1, INT64_MAX);
  // The checks generate makes on its options (b^levels by division, since the power may overflow).
  const lattice::GeometryCheck check = lattice::check_geometry(g, spec_.samples);
  switch (check.problem) {
    case lattice::GeometryProblem::kNone:
      break;
    case lattice::GeometryProblem::kTooManyLevels:
      throw UsageError("b^levels = " + std::to_string(g.block_side) + "^" +
                       std::to_string(g.levels) + " exceeds L = " + std::to_string(g.side));
    case lattice::GeometryProblem::kSideNotDivisible:
      throw UsageError("L = " + std::to_string(g.side) +
                       " is not divisible by b^levels = " + std::to_string(check.top_block_side));
    case lattice::GeometryProblem::kBeyondIndexRange:
      throw UsageError("n_samples x L^d = " + std::to_string(spec_.samples) + " x " +
                       std::to_string(g.side) + "^" + std::to_string(g.dim) + " is too large");
  }
  spec_.seed = static_cast<uint64_t>(h5::read_int_attribute(file, "seed"));
  // Files before Ising datasets have no `field`: they hold i.i.d. fields.
  spec_.field = h5::has_attribute(file, "field") ? h5::read_string_attribute(file, "field") : "iid";
  if (spec_.field != "iid" && spec_.field != "ising") {
    throw UsageError("field is " + printable(spec_.field) + ", not iid or ising");
  }
  spec_.rg_map = h5::read_string_attribute(file, "rg_map");
  const auto& maps = rg_map_names();
  if (std::find(maps.begin(), maps.end(), spec_.rg_map) == maps.end() ||
      (spec_.field == "iid" && spec_.rg_map != "block_sum")) {
    throw UsageError("rg_map is " + printable(spec_.rg_map) + ", not a map of " + spec_.field +
                     " fields");
  }
  const std::string distribution = h5::read_string_attribute(file, "distribution");
  if (spec_.field == "ising") {
    if (g.dim < 2) throw UsageError("an Ising dataset of d = 1");
    spec_.ising.beta = finite("beta");
    if (!(spec_.ising.beta > 0)) throw UsageError("attribute beta is not positive");
    spec_.ising.thermalize = integer_in("thermalize", 0, UINT32_MAX);
    spec_.ising.sweeps_between = integer_in("sweeps_between", 1, UINT32_MAX);
    // Files before -update stored a description of their (heat-bath) update here.
    const std::string update = h5::read_string_attribute(file, "update");
    const auto& updates = ising_update_names();
    if (update.rfind("checkerboard heat-bath", 0) == 0) {
      spec_.ising.update = "heat_bath";
    } else if (std::find(updates.begin(), updates.end(), update) != updates.end()) {
      spec_.ising.update = update;
    } else {
      throw UsageError("update is " + printable(update) + ", not an Ising update");
    }
    if (distribution != "none") {
      throw UsageError("an Ising dataset with distribution " + printable(distribution));
    }
  }
  const auto kind = field::parse_distribution(distribution);
  if (spec_.field == "iid" && !kind) {
    throw UsageError("unknown distribution " + printable(distribution));
  }
  if (kind) spec_.distribution.kind = *kind;
  if (spec_.field == "iid" && *kind == field::DistributionKind::kGamma) {
    spec_.distribution.gamma_shape = finite("gamma_shape");
    if (!(spec_.distribution.gamma_shape > 0)) {
      throw UsageError("attribute gamma_shape is not positive");
    }
  }
  spec_.scaling_dimension = finite("scaling_dimension");
  spec_.dtype = h5::read_string_attribute(file, "dtype");
  if (spec_.dtype != "float32" && spec_.dtype != "float64") {
    throw UsageError("dtype is " + printable(spec_.dtype) + ", not float32 or float64");
  }
  spec_.command_line = h5::read_string_attribute(file, "command_line");
  spec_.created = h5::read_string_attribute(file, "created");
  complete_ = h5::read_int_attribute(file, "complete") == 1;
}

void DatasetReader::check_layout() {
  const hid_t file = file_.get();
  const auto& g = spec_.geometry;
  for (int level = 0; level <= g.levels; ++level) {
    if (spec_.level_holds_spins(level)) {
      const h5::NumericDataset spins =
          h5::open_numeric_dataset(file, field_path(level), h5::NumberClass::kInteger, g.dim + 1);
      if (spins.value_bytes != 1) {
        throw UsageError(field_path(level) + " holds " + std::to_string(8 * spins.value_bytes) +
                         "-bit integers, but a level of spins is int8");
      }
      if (spins.shape != level_shape(spec_, level)) {
        throw UsageError(field_path(level) + " has the wrong shape");
      }
      continue;
    }
    const h5::NumericDataset field =
        h5::open_numeric_dataset(file, field_path(level), h5::NumberClass::kFloat, g.dim + 1);
    if (static_cast<int64_t>(field.value_bytes) != dtype_bytes(spec_.dtype)) {
      throw UsageError(field_path(level) + " holds " + std::to_string(8 * field.value_bytes) +
                       "-bit floats, but attribute dtype is " + spec_.dtype);
    }
    if (field.shape != level_shape(spec_, level)) {
      throw UsageError(field_path(level) + " has the wrong shape");
    }
  }
  const h5::NumericDataset marks =
      h5::open_numeric_dataset(file, "/sample_complete", h5::NumberClass::kInteger, 1);
  if (marks.shape[0] != static_cast<hsize_t>(spec_.samples)) {
    throw UsageError("/sample_complete has " + std::to_string(marks.shape[0]) +
                     " entries, not n_samples = " + std::to_string(spec_.samples));
  }
  has_checksums_ = h5::link_exists(file, kChecksumsPath);
  if (has_checksums_) {
    const h5::NumericDataset sums =
        h5::open_numeric_dataset(file, kChecksumsPath, h5::NumberClass::kInteger, 2);
    if (sums.value_bytes != 8 ||
        sums.shape != std::vector<hsize_t>{static_cast<hsize_t>(g.levels + 1),
                                           static_cast<hsize_t>(spec_.samples)}) {
      throw UsageError(std::string(kChecksumsPath) +
                       " is not (levels + 1) x n_samples 64-bit integers");
    }
  }
}

namespace {

// Index of the first NaN or infinite value of `values`, or `count` if all are finite. The common
// case, all finite, is one vectorisable pass (v - v is 0 exactly when v is finite).
template <typename T>
size_t first_non_finite(const T* values, size_t count) {
  bool all_finite = true;
  for (size_t i = 0; i < count; ++i) all_finite &= (values[i] - values[i] == T(0));
  if (all_finite) return count;
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) return i;
  }
  return count;
}

}  // namespace

template <typename T>
void DatasetReader::check_finite(int level, int64_t first_sample, const std::vector<T>& values,
                                 int64_t sites) const {
  const size_t bad = first_non_finite(values.data(), values.size());
  if (bad == values.size()) return;
  const int64_t index = static_cast<int64_t>(bad);
  throw UsageError("dataset '" + path_ + "' holds a non-finite value (" +
                   (std::isnan(values[bad]) ? "NaN" : "Inf") + ") at level " +
                   std::to_string(level) + ", sample " +
                   std::to_string(first_sample + index / sites) + ", site " +
                   std::to_string(index % sites));
}

void DatasetReader::read_samples(int level, int64_t first_sample, int64_t count, hid_t memory_type,
                                 void* out) const {
  if (level < 0 || level > spec_.geometry.levels || first_sample < 0 || count < 0 ||
      first_sample > spec_.samples - count) {
    throw UsageError("read outside dataset '" + path_ + "'");
  }
  std::vector<hsize_t> start(static_cast<size_t>(spec_.geometry.dim + 1), 0);
  std::vector<hsize_t> extent = level_shape(spec_, level);
  start[0] = static_cast<hsize_t>(first_sample);
  extent[0] = static_cast<hsize_t>(count);
  read_hyperslab(level, std::move(start), std::move(extent), memory_type, out);
}

void DatasetReader::read_hyperslab(int level, std::vector<hsize_t> start,
                                   std::vector<hsize_t> extent, hid_t memory_type,
                                   void* out) const {
  const bool empty = std::find(extent.begin(), extent.end(), hsize_t{0}) != extent.end();
  try {
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file_.get(), field_path(level).c_str(), H5P_DEFAULT));
    h5::Hid file_space = h5::dataspace_id(H5Dget_space(dataset.get()));
    if (empty) {
      RGFLOW_H5(H5Sselect_none(file_space.get()));
    } else {
      RGFLOW_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                    extent.data(), nullptr));
    }
    for (hsize_t& n : extent) n = std::max<hsize_t>(n, 1);
    h5::Hid memory_space = h5::simple_space(extent);
    if (empty) RGFLOW_H5(H5Sselect_none(memory_space.get()));
    RGFLOW_H5(H5Dread(dataset.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT,
                      out));
  } catch (const LibraryError& failure) {
    // A damaged file (truncated, a chunk that does not decode) is an input problem.
    throw UsageError("cannot read level " + std::to_string(level) + " of dataset '" + path_ +
                     "': " + failure.what());
  }
}

void DatasetReader::read_stored_floats(int level, int64_t first_sample, int64_t count,
                                       std::vector<float>& out) const {
  if (spec_.dtype != "float32") {
    throw std::logic_error("read_stored_floats on a " + spec_.dtype + " dataset");
  }
  const int64_t sites = spec_.geometry.level_sites(std::max(level, 0));
  out.resize(static_cast<size_t>(std::max<int64_t>(count, 0) * sites));
  read_samples(level, first_sample, count, H5T_NATIVE_FLOAT, out.data());
  check_finite(level, first_sample, out, sites);
}

template <typename T>
void DatasetReader::read_stored_box(int level, int64_t first_sample, int64_t count,
                                    const lattice::Box& box, T* out) const {
  const bool spins = level >= 0 && level <= spec_.geometry.levels && spec_.level_holds_spins(level);
  if (spins != std::is_same_v<T, int8_t> ||
      (!spins && dtype_bytes(spec_.dtype) != static_cast<int64_t>(sizeof(T)))) {
    throw std::logic_error("read_stored_box of the wrong type on level " + std::to_string(level) +
                           " of a " + spec_.dtype + " dataset");
  }
  read_box_values(level, first_sample, count, box, h5::native_type<T>(), out);
}

template void DatasetReader::read_stored_box<float>(int, int64_t, int64_t, const lattice::Box&,
                                                    float*) const;
template void DatasetReader::read_stored_box<double>(int, int64_t, int64_t, const lattice::Box&,
                                                     double*) const;
template void DatasetReader::read_stored_box<int8_t>(int, int64_t, int64_t, const lattice::Box&,
                                                     int8_t*) const;

DatasetReader::Autocorrelation DatasetReader::autocorrelation() const {
  Autocorrelation tau;
  if (spec_.field != "ising") return tau;
  try {
    tau.abs_magnetisation = h5::read_double_attribute(file_.get(), "tau_int_abs_m");
    tau.energy = h5::read_double_attribute(file_.get(), "tau_int_energy");
  } catch (const LibraryError& failure) {
    throw UsageError("dataset '" + path_ + "': " + failure.what());
  }
  return tau;
}

std::string DatasetReader::derived_attribute_problem() const {
  const auto& g = spec_.geometry;
  try {
    const hid_t file = file_.get();
    // rg_map itself was checked on opening (a map of the file's field).
    const double scale = std::pow(static_cast<double>(g.block_side), -spec_.scaling_dimension);
    if (h5::read_double_attribute(file, "block_map_scale") != scale) {
      return "attribute block_map_scale is not b^(-scaling_dimension)";
    }
    for (int level = 0; level <= g.levels; ++level) {
      h5::Hid group = h5::group_id(H5Gopen2(file, level_path(level).c_str(), H5P_DEFAULT));
      const std::string where = level_path(level) + " attribute ";
      if (h5::read_int_attribute(group.get(), "level") != level) return where + "level is wrong";
      if (h5::read_int_attribute(group.get(), "L_k") != g.level_side(level)) {
        return where + "L_k is not L / b^k";
      }
      if (h5::read_double_attribute(group.get(), "scale_factor") !=
          std::pow(static_cast<double>(g.block_side), level)) {
        return where + "scale_factor is not b^k";
      }
    }
  } catch (const std::exception& failure) {
    return failure.what();
  }
  return "";
}

std::vector<uint8_t> DatasetReader::completed_samples() const {
  std::vector<uint8_t> done(static_cast<size_t>(spec_.samples));
  try {
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file_.get(), "/sample_complete", H5P_DEFAULT));
    RGFLOW_H5(H5Dread(dataset.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done.data()));
  } catch (const LibraryError& failure) {
    throw UsageError("cannot read /sample_complete of dataset '" + path_ + "': " + failure.what());
  }
  return done;
}

std::vector<uint64_t> DatasetReader::read_checksums(int64_t first_sample, int64_t count) const {
  if (!has_checksums_ || first_sample < 0 || count < 0 || first_sample > spec_.samples - count) {
    throw std::logic_error("read_checksums outside the file's checksums");
  }
  const hsize_t rows = static_cast<hsize_t>(spec_.geometry.levels + 1);
  std::vector<uint64_t> sums(static_cast<size_t>(rows) * static_cast<size_t>(count));
  if (count == 0) return sums;
  try {
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file_.get(), kChecksumsPath, H5P_DEFAULT));
    h5::Hid file_space = h5::dataspace_id(H5Dget_space(dataset.get()));
    const hsize_t start[2] = {0, static_cast<hsize_t>(first_sample)};
    const hsize_t extent[2] = {rows, static_cast<hsize_t>(count)};
    RGFLOW_H5(
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr));
    h5::Hid memory_space = h5::simple_space({extent[0], extent[1]});
    RGFLOW_H5(H5Dread(dataset.get(), H5T_NATIVE_UINT64, memory_space.get(), file_space.get(),
                      H5P_DEFAULT, sums.data()));
  } catch (const LibraryError& failure) {
    throw UsageError("cannot read " + std::string(kChecksumsPath) + " of dataset '" + path_ +
                     "': " + failure.what());
  }
  return sums;
}

std::vector<double> DatasetReader::read(int level, int64_t first_sample, int64_t count) const {
  const int64_t sites = spec_.geometry.level_sites(std::max(level, 0));
  std::vector<double> values(static_cast<size_t>(std::max<int64_t>(count, 0) * sites));
  read_samples(level, first_sample, count, H5T_NATIVE_DOUBLE, values.data());
  check_finite(level, first_sample, values, sites);
  return values;
}

void DatasetReader::read_box_values(int level, int64_t first_sample, int64_t count,
                                    const lattice::Box& box, hid_t memory_type, void* out) const {
  const auto& g = spec_.geometry;
  bool inside = level >= 0 && level <= g.levels && first_sample >= 0 && count >= 0 &&
                first_sample <= spec_.samples - count && box.dim == g.dim;
  for (int axis = 0; inside && axis < g.dim; ++axis) {
    inside = box.begin[axis] >= 0 && box.extent[axis] >= 0 &&
             box.begin[axis] <= g.level_side(level) - box.extent[axis];
  }
  if (!inside) throw UsageError("read outside dataset '" + path_ + "'");
  std::vector<hsize_t> start{static_cast<hsize_t>(first_sample)},
      extent{static_cast<hsize_t>(count)};
  for (int axis = 0; axis < g.dim; ++axis) {
    start.push_back(static_cast<hsize_t>(box.begin[axis]));
    extent.push_back(static_cast<hsize_t>(box.extent[axis]));
  }
  read_hyperslab(level, std::move(start), std::move(extent), memory_type, out);
}

template <typename T>
void DatasetReader::check_box_finite(int level, int64_t sample, const lattice::Box& box,
                                     const std::vector<T>& values) const {
  const size_t bad = first_non_finite(values.data(), values.size());
  if (bad == values.size()) return;
  // The box's row-major index -> the site's index in the whole level (row-major, side L_k).
  const int64_t side = spec_.geometry.level_side(level);
  int64_t rest = static_cast<int64_t>(bad), site = 0;
  std::array<int64_t, lattice::kMaxDim> local{};
  for (int axis = box.dim - 1; axis >= 0; --axis) {
    local[static_cast<size_t>(axis)] = rest % box.extent[axis];
    rest /= box.extent[axis];
  }
  for (int axis = 0; axis < box.dim; ++axis) {
    site = site * side + box.begin[axis] + local[static_cast<size_t>(axis)];
  }
  throw UsageError("dataset '" + path_ + "' holds a non-finite value (" +
                   (std::isnan(values[bad]) ? "NaN" : "Inf") + ") at level " +
                   std::to_string(level) + ", sample " + std::to_string(sample) + ", site " +
                   std::to_string(site));
}

void DatasetReader::read_box(int level, int64_t sample, const lattice::Box& box,
                             std::vector<double>& out) const {
  out.resize(static_cast<size_t>(box.size()));
  read_box_values(level, sample, 1, box, H5T_NATIVE_DOUBLE, out.data());
  check_box_finite(level, sample, box, out);
}

void DatasetReader::read_box_stored_floats(int level, int64_t sample, const lattice::Box& box,
                                           std::vector<float>& out) const {
  if (spec_.dtype != "float32") {
    throw std::logic_error("read_box_stored_floats on a " + spec_.dtype + " dataset");
  }
  out.resize(static_cast<size_t>(box.size()));
  read_box_values(level, sample, 1, box, H5T_NATIVE_FLOAT, out.data());
  check_box_finite(level, sample, box, out);
}

}  // namespace rgflow::io
