import AdvImaging
import AdvTensor
import Foundation

/// One image for people to label: what it is and which class it is meant to show.
public struct JudgeItem: Codable, Sendable, Equatable {
    public var id: String
    /// real, plain-gan, unrestricted or perturbation (see `HumanLabels.kinds`).
    public var kind: String
    /// The class the image is meant to show: its label, the requested class, or the source class.
    public var intended: Int
    /// Where it came from, e.g. "pgd linf 0.3 vs natural".
    public var setting: String
    /// 28×28 grey levels, row-major.
    public var pixels: [UInt8]

    /// image01: [1, 1, 28, 28] (or 784 values) in [0, 1].
    public init(id: String, kind: String, intended: Int, setting: String, image01: Tensor) {
        self.id = id; self.kind = kind; self.intended = intended; self.setting = setting
        pixels = image01.scalars.map { Bitmap.byte(fromUnit: $0) }
    }
}

/// The set of items a report offers to the judge page (`judge-set.json` in the report folder).
public struct JudgeSet: Codable, Sendable {
    public var seed: UInt64
    public var items: [JudgeItem]

    public static func load(folder: String) throws -> JudgeSet {
        let path = folder + "/judge-set.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError.invalid(path, "missing; run advlab report --out \(folder) first")
        }
        do {
            let set = try JSONDecoder().decode(JudgeSet.self, from: data)
            for (index, item) in set.items.enumerated() {
                guard item.pixels.count == 28 * 28 else { throw ReportError.invalid(path, "items[\(index)].pixels must hold 784 values") }
                guard (0...9).contains(item.intended) else { throw ReportError.invalid(path, "items[\(index)].intended must be 0…9") }
                guard HumanLabels.kinds.contains(item.kind) else { throw ReportError.invalid(path, "items[\(index)].kind is not a known kind") }
            }
            return set
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.invalid(path, "not a judge set written by advlab report")
        }
    }
}

/// `advlab judge`'s static page: a shuffled mix of real test images, plain AC-GAN samples,
/// unrestricted examples and perturbation examples, one at a time, large and without any hint
/// of where each came from. The person picks the digit they see (keys 0–9) or "not a digit"
/// (key n); the page saves the labels as the JSON that `advlab report --human` reads.
public enum JudgePage {
    /// Up to `perKind` items of each kind from `sets`, shuffled with `seed`.
    public static func select(_ sets: [JudgeSet], perKind: Int, seed: UInt64) -> [JudgeItem] {
        var rng = SeededGenerator(seed: seed)
        var chosen: [JudgeItem] = []
        for kind in HumanLabels.kinds {
            var items = sets.flatMap(\.items).filter { $0.kind == kind }
            items.seededShuffle(using: &rng)
            chosen += items.prefix(perKind)
        }
        chosen.seededShuffle(using: &rng)
        return chosen
    }

    public static func html(items: [JudgeItem], seed: UInt64) throws -> String {
        var entries: [String] = []
        for item in items {
            let bitmap = Bitmap(width: 28, height: 28, channels: 1, pixels: item.pixels)
            let png = Data(try PNG.encode(bitmap, name: item.id)).base64EncodedString()
            entries.append("{\"id\":\(jsonString(item.id)),\"kind\":\(jsonString(item.kind)),\"intended\":\(item.intended),\"src\":\"data:image/png;base64,\(png)\"}")
        }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>advlab judge: which digit is this?</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 760px; margin: 30px auto; text-align: center; color: #1b1b1b; }
        img { width: 336px; height: 336px; image-rendering: pixelated; border: 1px solid #bbb; background: black; }
        .buttons button { font-size: 1.4em; width: 3em; margin: 4px; padding: 6px; }
        .buttons button.none { width: auto; padding: 6px 14px; }
        #done { display: none; }
        .muted { color: #666; font-size: 0.9em; }
        </style>
        </head>
        <body>
        <h1>Which digit is this?</h1>
        <p class="muted">Pick the digit you see, or "not a digit" if it is none. Keys 0–9 and n work too; Backspace goes back one image.
        Nothing is sent anywhere: at the end, save the labels and give the file to <code>advlab report --human</code>.</p>
        <div id="task">
          <p id="progress"></p>
          <img id="image" alt="the image to label">
          <div class="buttons" id="buttons"></div>
        </div>
        <div id="done">
          <p>All images labelled. Thank you.</p>
          <button id="save">Save labels (JSON)</button>
        </div>
        <script>
        const pageSeed = \(seed);
        const items = [
        \(entries.joined(separator: ",\n"))
        ];
        const answers = [];
        const image = document.getElementById("image"), progress = document.getElementById("progress");
        function show() {
          if (answers.length >= items.length) {
            document.getElementById("task").style.display = "none";
            document.getElementById("done").style.display = "block";
            return;
          }
          document.getElementById("task").style.display = "block";
          document.getElementById("done").style.display = "none";
          image.src = items[answers.length].src;
          progress.textContent = "image " + (answers.length + 1) + " of " + items.length;
        }
        function answer(value) { if (answers.length < items.length) { answers.push(value); show(); } }
        const buttons = document.getElementById("buttons");
        for (let digit = 0; digit <= 9; digit++) {
          const button = document.createElement("button");
          button.textContent = digit;
          button.onclick = () => answer(digit);
          buttons.appendChild(button);
        }
        const none = document.createElement("button");
        none.textContent = "not a digit";
        none.className = "none";
        none.onclick = () => answer(null);
        buttons.appendChild(none);
        document.addEventListener("keydown", (event) => {
          if (event.key >= "0" && event.key <= "9") answer(Number(event.key));
          else if (event.key === "n") answer(null);
          else if (event.key === "Backspace" && answers.length > 0) { answers.pop(); show(); }
        });
        document.getElementById("save").onclick = () => {
          const labels = items.map((item, index) => ({ id: item.id, kind: item.kind, intended: item.intended, answer: answers[index] }));
          const blob = new Blob([JSON.stringify({ page_seed: pageSeed, labels: labels }, null, 1)], { type: "application/json" });
          const link = document.createElement("a");
          link.href = URL.createObjectURL(blob);
          link.download = "advlab-labels-" + pageSeed + ".json";
          link.click();
        };
        show();
        </script>
        </body>
        </html>

        """
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
