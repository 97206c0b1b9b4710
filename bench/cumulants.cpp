// Analysis-stage micro-benchmark: the moment kernel (CentralMoments::add, order 8 by default) on a
// float32 array held in memory, against the machine's memory read bandwidth measured in the same
// process on the same array (a STREAM-like sum), on 1 and 2 threads; and, given a dataset, the
// read + kernel path of level 0 split into reading and computing, both the way `rgflow analyze`
// reads (DatasetReader::read: one sample at a time, converted to double by HDF5) and reading
// float32 into a reused buffer, one sample or -batch samples (default 8) per read. The driver is
// bench/cumulants_bench.py; run alone:
//
//   build/bench/rgflow_bench_cumulants [-file data.h5] [-values N] [-sample M] [-order P]
//                                      [-repeats R] [-json out.json]
//
// Without -file the array is filled with the generate benchmark's uniform field (same generator);
// with -file it is level 0 of the file, read once, untimed. Figures are medians over R rounds, the
// contenders interleaved within each round so that the shared machine's drift hits them alike.
#include <hdf5.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rgflow/analysis/moments.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/dataset.hpp"
#include "stream.hpp"

namespace {

using rgflow::analysis::CentralMoments;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Splits [0, parts) into `threads` contiguous ranges and runs body(thread, begin, end) on each,
// thread 0 on the calling thread.
void run_split(int threads, std::size_t parts,
               const std::function<void(int, std::size_t, std::size_t)>& body) {
  std::vector<std::thread> pool;
  const auto range = [&](int t) { return parts * static_cast<std::size_t>(t) / threads; };
  for (int t = 1; t < threads; ++t) pool.emplace_back(body, t, range(t), range(t + 1));
  body(0, range(0), range(1));
  for (auto& thread : pool) thread.join();
}

// Seconds for one STREAM-like pass over the whole array on `threads` threads.
double time_stream(const std::vector<float>& x, int threads, float* sink) {
  std::vector<float> partial(static_cast<std::size_t>(threads));
  const std::size_t block = 1 << 20;  // split on block boundaries, as the kernel's samples
  const std::size_t blocks = x.size() / block;
  const auto start = Clock::now();
  run_split(threads, blocks, [&](int t, std::size_t begin, std::size_t end) {
    partial[static_cast<std::size_t>(t)] =
        rgflow::bench::stream_sum(x.data() + begin * block, (end - begin) * block);
  });
  const double seconds = seconds_since(start);
  for (float p : partial) *sink += p;
  return seconds;
}

// Seconds for the moment kernel over the whole array on `threads` threads, fed one sample of
// `sample` values per call as analyze feeds it; the threads' partial results are merged in
// thread order into `result`.
double time_kernel(const std::vector<float>& x, std::size_t sample, int order, int threads,
                   CentralMoments* result) {
  std::vector<CentralMoments> partial(static_cast<std::size_t>(threads), CentralMoments(order));
  const std::size_t samples = x.size() / sample;
  const auto start = Clock::now();
  run_split(threads, samples, [&](int t, std::size_t begin, std::size_t end) {
    CentralMoments& m = partial[static_cast<std::size_t>(t)];
    for (std::size_t s = begin; s < end; ++s) m.add(x.data() + s * sample, sample);
  });
  CentralMoments total(order);
  for (const auto& p : partial) total.merge(p);
  const double seconds = seconds_since(start);
  *result = total;
  return seconds;
}

// The same kernel over the array widened to double (what analyze hands it today), one thread.
double time_kernel_double(const std::vector<double>& x, std::size_t sample, int order,
                          CentralMoments* result) {
  CentralMoments m(order);
  const auto start = Clock::now();
  for (std::size_t s = 0; s < x.size() / sample; ++s) m.add(x.data() + s * sample, sample);
  const double seconds = seconds_since(start);
  *result = m;
  return seconds;
}

struct ReadSplit {
  double read = 0, compute = 0;
};

// Level 0 of `path` the way analyze reads it: DatasetReader::read of one sample (a new vector of
// doubles, HDF5 converting from float32), then the kernel on the doubles.
ReadSplit time_reader_path(const std::string& path, int order, CentralMoments* result) {
  const rgflow::io::DatasetReader reader(path);
  CentralMoments m(order);
  ReadSplit split;
  for (int64_t s = 0; s < reader.spec().samples; ++s) {
    auto start = Clock::now();
    const auto values = reader.read(0, s, 1);
    split.read += seconds_since(start);
    start = Clock::now();
    m.add(values.data(), values.size());
    split.compute += seconds_since(start);
  }
  *result = m;
  return split;
}

// Level 0 read as float32 (no conversion), `batch` samples per H5Dread into one reused buffer,
// then the kernel on the floats one sample at a time.
ReadSplit time_float_path(const std::string& path, int64_t batch, int order,
                          CentralMoments* result) {
  using namespace rgflow;
  const h5::Hid file = h5::open_read_only(path);
  const h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), "level_0/field", H5P_DEFAULT));
  const h5::Hid file_space = h5::dataspace_id(H5Dget_space(dataset.get()));
  const int rank = H5Sget_simple_extent_ndims(file_space.get());
  std::vector<hsize_t> shape(static_cast<std::size_t>(rank));
  RGFLOW_H5(H5Sget_simple_extent_dims(file_space.get(), shape.data(), nullptr));
  hsize_t per_sample = 1;
  for (int k = 1; k < rank; ++k) per_sample *= shape[static_cast<std::size_t>(k)];
  std::vector<float> buffer(static_cast<std::size_t>(batch) * per_sample);
  CentralMoments m(order);
  ReadSplit split;
  for (hsize_t first = 0; first < shape[0]; first += static_cast<hsize_t>(batch)) {
    std::vector<hsize_t> start(shape.size(), 0), extent = shape;
    start[0] = first;
    extent[0] = std::min<hsize_t>(static_cast<hsize_t>(batch), shape[0] - first);
    auto begin = Clock::now();
    RGFLOW_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                  extent.data(), nullptr));
    const h5::Hid memory_space = h5::simple_space(extent);
    RGFLOW_H5(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(),
                      H5P_DEFAULT, buffer.data()));
    split.read += seconds_since(begin);
    begin = Clock::now();
    for (hsize_t s = 0; s < extent[0]; ++s) m.add(buffer.data() + s * per_sample, per_sample);
    split.compute += seconds_since(begin);
  }
  *result = m;
  return split;
}

std::vector<float> load_level0(const std::string& path) {
  using namespace rgflow;
  const h5::Hid file = h5::open_read_only(path);
  const h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), "level_0/field", H5P_DEFAULT));
  const h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<float> x(static_cast<std::size_t>(count));
  RGFLOW_H5(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x.data()));
  return x;
}

std::string cumulant_list(const CentralMoments& m) {
  std::string text;
  for (double k : m.cumulants()) {
    char item[32];
    std::snprintf(item, sizeof item, "%s%.9g", text.empty() ? "" : ", ", k);
    text += item;
  }
  return text;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, json;
  std::size_t values = std::size_t{256} << 20, sample = std::size_t{1} << 20;
  int order = 8, repeats = 3;
  int64_t batch = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "-file") {
      file = value;
    } else if (key == "-values") {
      values = std::stoull(value);
    } else if (key == "-sample") {
      sample = std::stoull(value);
    } else if (key == "-order") {
      order = std::stoi(value);
    } else if (key == "-repeats") {
      repeats = std::stoi(value);
    } else if (key == "-batch") {
      batch = std::stoll(value);
    } else if (key == "-json") {
      json = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr,
                 "usage: %s [-file F] [-values N] [-sample M] [-order P] [-repeats R] "
                 "[-batch B] [-json F]\n",
                 argv[0]);
    return 2;
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);

  std::vector<float> x;
  if (!file.empty()) {
    x = load_level0(file);
  } else {
    // The generate benchmark's field: uniform with unit variance, sample by sample.
    x.resize(values - values % sample);
    rgflow::field::Distribution uniform;
    for (std::size_t s = 0; s < x.size() / sample; ++s) {
      rgflow::field::fill_run(uniform, 7, static_cast<uint32_t>(s), 0, static_cast<int64_t>(sample),
                              x.data() + s * sample);
    }
  }
  if (x.size() % sample != 0) {
    std::fprintf(stderr, "%zu values are not whole samples of %zu\n", x.size(), sample);
    return 2;
  }
  const double n = static_cast<double>(x.size()), bytes = 4 * n;
  std::printf("array: %zu float32 values (%.3f GiB), samples of %zu, order %d, %d rounds\n",
              x.size(), bytes / (1 << 30), sample, order, repeats);

  std::map<std::string, std::vector<double>> t;  // seconds per round, by contender
  float sink = 0;
  CentralMoments one(order), two(order);
  std::vector<double> widened;
  for (int r = 0; r < repeats; ++r) {
    t["stream_1"].push_back(time_stream(x, 1, &sink));
    t["kernel_1"].push_back(time_kernel(x, sample, order, 1, &one));
    t["stream_2"].push_back(time_stream(x, 2, &sink));
    t["kernel_2"].push_back(time_kernel(x, sample, order, 2, &two));
    std::printf("round %d: stream %.3f s / %.3f s, kernel %.3f s / %.3f s (1 / 2 threads)\n", r,
                t["stream_1"].back(), t["stream_2"].back(), t["kernel_1"].back(),
                t["kernel_2"].back());
    std::fflush(stdout);
  }
  // The kernel on doubles needs a second copy of the data (2 GiB); one thread only.
  widened.assign(x.begin(), x.end());
  CentralMoments from_double(order);
  for (int r = 0; r < repeats; ++r) {
    t["kernel_double_1"].push_back(time_kernel_double(widened, sample, order, &from_double));
  }
  widened = std::vector<double>();

  std::map<std::string, std::vector<double>> split_read, split_compute;
  CentralMoments via_reader(order), via_float(order);
  if (!file.empty()) {
    for (int r = 0; r < repeats; ++r) {
      const ReadSplit a = time_reader_path(file, order, &via_reader);
      const ReadSplit b = time_float_path(file, batch, order, &via_float);
      const ReadSplit c = time_float_path(file, 1, order, &via_float);
      split_read["reader_double"].push_back(a.read);
      split_compute["reader_double"].push_back(a.compute);
      split_read["float_batch"].push_back(b.read);
      split_compute["float_batch"].push_back(b.compute);
      split_read["float_sample"].push_back(c.read);
      split_compute["float_sample"].push_back(c.compute);
      std::printf(
          "round %d: analyze's read path %.3f s read + %.3f s kernel; float32 batches "
          "%.3f s read + %.3f s kernel; float32 samples %.3f s read + %.3f s kernel\n",
          r, a.read, a.compute, b.read, b.compute, c.read, c.compute);
      std::fflush(stdout);
    }
  }

  const double stream1 = bytes / median(t["stream_1"]), stream2 = bytes / median(t["stream_2"]);
  std::printf("\nmedians over %d rounds, %zu values (float32, 4 bytes each):\n", repeats, x.size());
  std::printf("| run | seconds | values/s | GB/s | of read bandwidth |\n|---|---|---|---|---|\n");
  std::printf("| STREAM-like sum, 1 thread | %.3f | %.3g | %.2f | 100%% |\n", median(t["stream_1"]),
              n / median(t["stream_1"]), stream1 / 1e9);
  std::printf("| STREAM-like sum, 2 threads | %.3f | %.3g | %.2f | 100%% |\n",
              median(t["stream_2"]), n / median(t["stream_2"]), stream2 / 1e9);
  std::printf("| moments to order %d, 1 thread | %.3f | %.3g | %.2f | %.0f%% |\n", order,
              median(t["kernel_1"]), n / median(t["kernel_1"]), bytes / median(t["kernel_1"]) / 1e9,
              100 * bytes / median(t["kernel_1"]) / stream1);
  std::printf("| moments to order %d, 2 threads | %.3f | %.3g | %.2f | %.0f%% |\n", order,
              median(t["kernel_2"]), n / median(t["kernel_2"]), bytes / median(t["kernel_2"]) / 1e9,
              100 * bytes / median(t["kernel_2"]) / stream2);
  std::printf("| moments to order %d on doubles, 1 thread | %.3f | %.3g | %.2f (8 B/value) | |\n",
              order, median(t["kernel_double_1"]), n / median(t["kernel_double_1"]),
              2 * bytes / median(t["kernel_double_1"]) / 1e9);
  if (!file.empty()) {
    for (const char* name : {"reader_double", "float_sample", "float_batch"}) {
      const double read = median(split_read[name]), compute = median(split_compute[name]);
      std::printf(
          "| level 0 from the file, %s | %.3f (read %.3f + kernel %.3f) | %.3g | %.2f | |\n", name,
          read + compute, read, compute, n / (read + compute), bytes / (read + compute) / 1e9);
    }
  }
  std::printf("cumulants, 1 thread: %s\n", cumulant_list(one).c_str());
  std::printf("cumulants, 2 threads: %s\n", cumulant_list(two).c_str());
  std::printf("cumulants, doubles: %s\n", cumulant_list(from_double).c_str());
  if (!file.empty())
    std::printf("cumulants, analyze's read path: %s\n", cumulant_list(via_reader).c_str());
  std::printf("peak RSS %.0f MiB (sink %g)\n", peak_rss_kib() / 1024.0, static_cast<double>(sink));

  if (!json.empty()) {
    FILE* out = std::fopen(json.c_str(), "w");
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", json.c_str());
      return 1;
    }
    std::fprintf(out,
                 "{\"values\": %zu, \"bytes\": %.0f, \"order\": %d, \"sample\": %zu, "
                 "\"peak_rss_MiB\": %.1f, \"seconds\": {",
                 x.size(), bytes, order, sample, peak_rss_kib() / 1024.0);
    bool first = true;
    const auto emit = [&](const std::string& name, const std::vector<double>& v) {
      std::fprintf(out, "%s\"%s\": [", first ? "" : ", ", name.c_str());
      for (std::size_t i = 0; i < v.size(); ++i) std::fprintf(out, "%s%.6f", i ? ", " : "", v[i]);
      std::fprintf(out, "]");
      first = false;
    };
    for (const auto& [name, v] : t) emit(name, v);
    for (const auto& [name, v] : split_read) emit(name + "_read", v);
    for (const auto& [name, v] : split_compute) emit(name + "_compute", v);
    std::fprintf(out, "}, \"cumulants_1\": [%s]}\n", cumulant_list(one).c_str());
    std::fclose(out);
  }
  return 0;
}
